"""The access shared by the datasets that render their images when read."""
from typing import List

import numpy as np
from mmpretrain.datasets import MultiLabelDataset


class RenderedMultiLabelDataset(MultiLabelDataset):
    """A multi-label dataset whose data infos are layouts, not files.

    The data list holds only what draws an image (small to serialise, the
    same in every dataloader worker); :meth:`get_data_info` renders the
    image with :meth:`render` when an item is read and adds ``img``,
    ``img_shape`` and ``ori_shape``, so a pipeline starts without
    ``LoadImageFromFile``. A subclass implements :meth:`render`.
    """

    def render(self, layout: dict) -> np.ndarray:
        """The H x W x 3 uint8 BGR image of one layout."""
        raise NotImplementedError

    def get_layout(self, idx: int) -> dict:
        """The data info of an image without rendering it."""
        return super().get_data_info(idx)

    def get_data_info(self, idx: int) -> dict:
        """The data info of an image, with the rendered ``img``."""
        info = self.get_layout(idx)
        img = self.render(info)
        info['img'] = img
        info['img_shape'] = img.shape[:2]
        info['ori_shape'] = img.shape[:2]
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        """The class indices of an image (no rendering)."""
        return self.get_layout(idx)['gt_label']
