"""VG500: Visual Genome restricted to its 500 most frequent categories."""
import json
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from .utils import (check_dir, check_file, check_label_range,
                    class_names_from_arg)

NUM_VG500_CLASSES = 500
_NAME_FILES = ('vg_category_500.json', 'vg_category_500.txt')


@DATASETS.register_module()
class VG500(MultiLabelDataset):
    """Visual Genome with the 500 most frequent object categories (VG500).

    The split of SSGRL, also used by Query2Label and the OPRL paper. Files
    under ``data_root``::

        VG_100K/*.jpg
        train_list_500.txt               one image file name a line
        test_list_500.txt
        vg_category_500_labels_index.json  {file name: [class indices 0-499]}

    Class names: the ``classes`` argument (a list or a file with one name a
    line) if given; else ``vg_category_500.json`` (a list of names, or a
    ``{name: index}`` mapping) or ``vg_category_500.txt`` under
    ``data_root`` if present; else ``class_0`` ... ``class_499``. The names
    only label reports: the indices in the label file are what is trained.

    Args:
        data_root (str): The VG500 root folder.
        split (str): ``'train'`` or ``'test'``.
        classes (str | Sequence[str], optional): Class names, see above.
            Defaults to None.
        filter_empty (bool): Drop listed images that have no label. Defaults
            to True.
        data_prefix (str | dict): Image folder relative to ``data_root``.
            Defaults to ``'VG_100K'``.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 classes: Union[str, Sequence[str], None] = None,
                 filter_empty: bool = True,
                 data_prefix: Union[str, dict] = 'VG_100K',
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(
                f"split must be 'train' or 'test', got {split!r}")
        self.split = split
        self.filter_empty = filter_empty
        names = class_names_from_arg(classes)
        if names is None and not (metainfo or {}).get('classes'):
            names = self._names_from_root(data_root)
        if names is not None and len(names) != NUM_VG500_CLASSES:
            raise ValueError(
                f'VG500 needs {NUM_VG500_CLASSES} class names, got '
                f'{len(names)}')
        super().__init__(
            ann_file='',
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=metainfo,
            classes=names,
            **kwargs)

    @staticmethod
    def _names_from_root(data_root: str) -> List[str]:
        for name in _NAME_FILES:
            path = osp.join(data_root, name)
            if not osp.isfile(path):
                continue
            if name.endswith('.txt'):
                return class_names_from_arg(path)
            with open(path, encoding='utf-8') as f:
                obj = json.load(f)
            if isinstance(obj, dict):  # {name: index}
                return [k for k, _ in sorted(obj.items(), key=lambda x: x[1])]
            return [str(n) for n in obj]
        return [f'class_{i}' for i in range(NUM_VG500_CLASSES)]

    def load_data_list(self) -> List[dict]:
        """Read the split's image list and the label index file."""
        list_file = osp.join(self.data_root, f'{self.split}_list_500.txt')
        label_file = osp.join(self.data_root,
                              'vg_category_500_labels_index.json')
        check_file(list_file, 'VG500 image list')
        check_file(label_file, 'VG500 label file')
        check_dir(self.img_prefix, 'VG500 image folder')
        with open(label_file, encoding='utf-8') as f:
            labels = json.load(f)
        if not isinstance(labels, dict):
            raise ValueError(f'{osp.abspath(label_file)} should map file '
                             'names to lists of class indices')
        num_classes = len(self.CLASSES)
        data_list = []
        with open(list_file, encoding='utf-8') as f:
            names = [line.strip() for line in f if line.strip()]
        for name in names:
            if name not in labels:
                raise ValueError(
                    f'image {name!r} of {osp.abspath(list_file)} has no '
                    f'entry in {osp.abspath(label_file)}')
            try:
                gt = sorted({int(i) for i in labels[name]})
            except (TypeError, ValueError):
                raise ValueError(
                    f'labels of image {name!r} in {osp.abspath(label_file)} '
                    f'are not a list of integers: {labels[name]!r}')
            check_label_range(gt, num_classes, label_file, name)
            if self.filter_empty and not gt:
                continue
            data_list.append(
                dict(img_path=osp.join(self.img_prefix, name), gt_label=gt))
        return data_list

    def extra_repr(self) -> List[str]:
        return [
            f'Root: \t{self.data_root}', f'Split: \t{self.split}',
            f'Prefix of images: \t{self.img_prefix}'
        ]
