"""Data transforms OPRL's recipe needs beyond mmpretrain's."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomColorCutout(BaseTransform):
    """Cut one square hole filled with one random colour (Sec. 5.1, Cutout).

    The paper trains with "RandAugment + Cutout" and gives no size; its code
    lineage (Query2Label and SADCL's ``SLCutoutPIL(n_holes=1, length=224)``
    at 448, ASL's ``CutoutPIL(cutout_factor=0.5)``) cuts, on every image, one
    square of side half the image, centred at a uniformly drawn pixel and
    clipped at the borders, filled with one colour drawn uniformly from
    [0, 255] per channel; it runs after the resize and before RandAugment.
    This is that transform (the idea is Cutout, DeVries and Taylor, 2017).
    mmpretrain's ``Cutout`` fills with a fixed value and is placed by its
    ``prob``; hence this one.

    Required keys: ``img``. Modified keys: ``img``.

    Args:
        size_ratio (float): side of the square as a share of the shorter
            image side. Defaults to 0.5.
        prob (float): probability of cutting. Defaults to 1.0 (always).
    """

    def __init__(self, size_ratio: float = 0.5, prob: float = 1.0):
        if not 0 < size_ratio <= 1:
            raise ValueError(
                f'RandomColorCutout: size_ratio must be in (0, 1], got '
                f'{size_ratio}')
        if not 0 <= prob <= 1:
            raise ValueError(
                f'RandomColorCutout: prob must be in [0, 1], got {prob}')
        self.size_ratio = size_ratio
        self.prob = prob

    def transform(self, results: dict) -> Optional[dict]:
        if np.random.rand() >= self.prob:
            return results
        img = results['img'].copy()
        h, w = img.shape[:2]
        side = int(min(h, w) * self.size_ratio)
        cy, cx = np.random.randint(h), np.random.randint(w)
        y0, y1 = max(cy - side // 2, 0), min(cy + side // 2, h)
        x0, x1 = max(cx - side // 2, 0), min(cx + side // 2, w)
        channels = 1 if img.ndim == 2 else img.shape[2]
        colour = np.random.randint(0, 256, size=channels).astype(img.dtype)
        img[y0:y1, x0:x1] = colour if img.ndim == 3 else colour[0]
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size_ratio={self.size_ratio}, '
                f'prob={self.prob})')
