import os
import os.path as osp

import cv2
import numpy as np
import pytest


def write_image(path: str, seed: int = 0, size=(24, 32)) -> str:
    """Write a small random image (format from the extension)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
    assert cv2.imwrite(path, img)
    return path


@pytest.fixture
def make_image():
    return write_image
