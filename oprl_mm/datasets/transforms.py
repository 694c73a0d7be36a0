"""Data transforms OPRL's recipe needs beyond mmpretrain's."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS
from PIL import Image, ImageEnhance, ImageOps


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
        color = np.random.randint(0, 256, size=channels).astype(img.dtype)
        img[y0:y1, x0:x1] = color if img.ndim == 3 else color[0]
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size_ratio={self.size_ratio}, '
                f'prob={self.prob})')


# The fifteen ops of the `randaugment` package (1.0.2, randaugment.py
# lines 466-472), in its order.
LINEAGE_RANDAUGMENT_OPS = ('Invert', 'Cutout', 'Sharpness', 'AutoContrast',
                           'Posterize', 'ShearX', 'TranslateX', 'TranslateY',
                           'ShearY', 'Rotate', 'Equalize', 'Contrast',
                           'Color', 'Solarize', 'Brightness')


def _lineage_magnitude_tables() -> dict:
    """Ten magnitudes per op, index 0-9 (``SubPolicy`` lines 365-381)."""
    enhance = np.linspace(0.0, 0.9, 10)
    return {
        'ShearX': np.linspace(0, 0.3, 10),
        'ShearY': np.linspace(0, 0.3, 10),
        'TranslateX': np.linspace(0, 150 / 331, 10),
        'TranslateY': np.linspace(0, 150 / 331, 10),
        'Rotate': np.linspace(0, 30, 10),
        'Color': enhance,
        'Contrast': enhance,
        'Sharpness': enhance,
        'Brightness': enhance,
        'Posterize': np.round(np.linspace(8, 4, 10), 0).astype(int),
        'Solarize': np.linspace(256, 0, 10),
        'Cutout': np.round(np.linspace(0, 20, 10), 0).astype(int),
        'AutoContrast': np.zeros(10),
        'Equalize': np.zeros(10),
        'Invert': np.zeros(10),
    }


@TRANSFORMS.register_module()
class LineageRandAugment(BaseTransform):
    """RandAugment as the paper's code lineage runs it (Sec. 5.1).

    Query2Label and SADCL (``lib/dataset/get_dataset.py``: ``Resize``,
    ``SLCutoutPIL``, ``RandAugment()``) take RandAugment from the
    ``randaugment`` package, version 1.0.2, whose ``RandAugment`` draws one
    pair out of all pairs of (op, magnitude index): per image, two ops drawn
    independently and uniformly from fifteen (the same op may come twice),
    each with its own magnitude index drawn uniformly from 1 to 9 of that
    op's ten-step range table, each applied with probability 0.5, in order
    (``SubPolicy.__call__``). The ops are PIL's and fill uncovered pixels with
    grey (128, 128, 128):

    - ShearX / ShearY: affine shear of up to 0.3, random sign, bicubic.
    - TranslateX / TranslateY: shift of up to 150/331 of the side, random
      sign, nearest neighbour.
    - Rotate: counter-clockwise by up to 30 degrees (the package rotates in
      one direction only), nearest neighbour.
    - Color, Contrast, Sharpness, Brightness: PIL's enhancers at
      1 +- up to 0.9, random sign.
    - Posterize: 8 down to 4 bits; Solarize: threshold 256 down to 0.
    - AutoContrast, Equalize, Invert: no magnitude.
    - Cutout: one square of side up to 20 pixels (the package's
      ``size // 2`` either side of a uniform centre, clipped at the borders),
      filled with (125, 122, 113).

    This is that policy written here (the package's own ``SubPolicy`` breaks
    on NumPy >= 1.24, ``np.int``). mmpretrain's ``RandAugment`` cannot
    express it exactly: its magnitude is continuous (``magnitude_std='inf'``
    draws from [0, M]), not one of nine steps, and its ops are OpenCV's with
    other ranges. mmpretrain's ``timm_increasing`` policy stays available
    in ``configs/_base_/datasets/multilabel_base.py``.

    Images are BGR ``uint8`` H x W x 3 arrays (mmcv's loading), converted to
    RGB PIL images for the ops and back.

    Required keys: ``img``. Modified keys: ``img``.

    Args:
        num_ops (int): ops drawn per image. Defaults to 2.
        prob (float): probability of applying each drawn op. Defaults to 0.5.
        magnitude_range (tuple[int, int]): inclusive range of the magnitude
            index drawn per op, out of 0-9. Defaults to (1, 9).
    """

    FILL = (128, 128, 128)
    CUTOUT_FILL = (125, 122, 113)

    def __init__(self,
                 num_ops: int = 2,
                 prob: float = 0.5,
                 magnitude_range: tuple = (1, 9)):
        name = type(self).__name__
        if num_ops < 1:
            raise ValueError(f'{name}: num_ops must be >= 1, got {num_ops}')
        if not 0 <= prob <= 1:
            raise ValueError(f'{name}: prob must be in [0, 1], got {prob}')
        low, high = magnitude_range
        if not 0 <= low <= high <= 9:
            raise ValueError(f'{name}: magnitude_range must be (low, high) '
                             f'with 0 <= low <= high <= 9, got '
                             f'{magnitude_range}')
        self.num_ops = num_ops
        self.prob = prob
        self.magnitude_range = (int(low), int(high))
        self.tables = _lineage_magnitude_tables()

    def draw(self) -> list:
        """One image's draws: ``num_ops`` tuples (op, magnitude index,
        applied)."""
        ops = np.random.randint(len(LINEAGE_RANDAUGMENT_OPS),
                                size=self.num_ops)
        low, high = self.magnitude_range
        levels = np.random.randint(low, high + 1, size=self.num_ops)
        applied = np.random.rand(self.num_ops) < self.prob
        return [(LINEAGE_RANDAUGMENT_OPS[op], int(level), bool(apply))
                for op, level, apply in zip(ops, levels, applied)]

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(
                f'{type(self).__name__} needs a BGR uint8 H x W x 3 image, '
                f'got shape {img.shape} and dtype {img.dtype}: load images '
                "in colour (LoadImageFromFile's default color_type)")
        pil = Image.fromarray(np.ascontiguousarray(img[..., ::-1]))
        for op, level, applied in self.draw():
            if applied:
                pil = self.apply(pil, op, self.tables[op][level])
        results['img'] = np.ascontiguousarray(np.asarray(pil)[..., ::-1])
        return results

    def apply(self, img: Image.Image, op: str, magnitude) -> Image.Image:
        """Apply one op at one magnitude to an RGB PIL image."""
        sign = 1 if np.random.rand() < 0.5 else -1
        width, height = img.size
        affine = {
            'ShearX': ((1, magnitude * sign, 0, 0, 1, 0), Image.BICUBIC),
            'ShearY': ((1, 0, 0, magnitude * sign, 1, 0), Image.BICUBIC),
            'TranslateX': ((1, 0, magnitude * width * sign, 0, 1, 0),
                           Image.NEAREST),
            'TranslateY': ((1, 0, 0, 0, 1, magnitude * height * sign),
                           Image.NEAREST),
        }
        enhancers = {
            'Color': ImageEnhance.Color,
            'Contrast': ImageEnhance.Contrast,
            'Sharpness': ImageEnhance.Sharpness,
            'Brightness': ImageEnhance.Brightness,
        }
        if op in affine:
            matrix, resample = affine[op]
            return img.transform(
                img.size, Image.AFFINE, matrix, resample, fillcolor=self.FILL)
        if op in enhancers:
            return enhancers[op](img).enhance(1 + magnitude * sign)
        if op == 'Rotate':
            return img.rotate(
                magnitude, resample=Image.NEAREST, fillcolor=self.FILL)
        if op == 'Posterize':
            return ImageOps.posterize(img, int(magnitude))
        if op == 'Solarize':
            return ImageOps.solarize(img, magnitude)
        if op == 'Cutout':
            return self._cutout(img, int(magnitude))
        return {
            'AutoContrast': ImageOps.autocontrast,
            'Equalize': ImageOps.equalize,
            'Invert': ImageOps.invert,
        }[op](img)

    def _cutout(self, img: Image.Image, size: int) -> Image.Image:
        """The package's ``Cutout``: ``size // 2`` either side of a uniform
        centre, clipped at the borders."""
        array = np.array(img)
        height, width = array.shape[:2]
        cy, cx = np.random.randint(height), np.random.randint(width)
        half = size // 2
        array[max(0, cy - half):min(height, cy + half),
              max(0, cx - half):min(width, cx + half)] = self.CUTOUT_FILL
        return Image.fromarray(array)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_ops={self.num_ops}, '
                f'prob={self.prob}, magnitude_range={self.magnitude_range})')
