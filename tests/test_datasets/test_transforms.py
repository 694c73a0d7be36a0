import numpy as np
import pytest

from oprl_mm.datasets import RandomColorCutout


@pytest.mark.parametrize('size', [448, 64, 33])
def test_one_half_size_square_of_one_colour(size):
    np.random.seed(0)
    cutout = RandomColorCutout()
    sides = []
    for _ in range(50):
        img = np.zeros((size, size, 3), np.uint8)
        out = cutout(dict(img=img.copy()))['img']
        changed = (out != img).any(-1)
        ys, xs = np.nonzero(changed)
        if len(ys) == 0:  # the colour drawn was black
            continue
        # one axis-aligned rectangle, filled with a single colour
        box = changed[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        assert box.all()
        assert len(np.unique(out[changed], axis=0)) == 1
        sides.append(max(box.shape))
    # a square of side half the image where the borders do not clip it
    assert max(sides) == 2 * ((size // 2) // 2)


def test_always_applied_and_input_untouched():
    np.random.seed(1)
    img = np.full((64, 64, 3), 7, np.uint8)
    cut = sum(
        bool((RandomColorCutout()(dict(img=img))['img'] != 7).any())
        for _ in range(30))
    assert cut >= 29  # a hole filled with colour (7, 7, 7) is invisible
    assert (img == 7).all()


@pytest.mark.parametrize('key,kwargs', [('size_ratio', dict(size_ratio=0)),
                                        ('prob', dict(prob=1.5))])
def test_bad_arguments(key, kwargs):
    with pytest.raises(ValueError, match=key):
        RandomColorCutout(**kwargs)
