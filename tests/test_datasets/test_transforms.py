import numpy as np
import pytest

from oprl_mm.datasets import LineageRandAugment, RandomColorCutout


@pytest.mark.parametrize('size', [448, 64, 33])
def test_one_half_size_square_of_one_color(size):
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


class TestLineageRandAugment:
    """The `randaugment` 1.0.2 policy of Query2Label and SADCL."""

    def test_policy_distribution_over_10000_images(self):
        from oprl_mm.datasets.transforms import LINEAGE_RANDAUGMENT_OPS
        np.random.seed(0)
        transform = LineageRandAugment()
        draws = [transform.draw() for _ in range(10000)]
        # two ops per image, drawn independently (repeats allowed)
        assert all(len(d) == 2 for d in draws)
        flat = [item for d in draws for item in d]
        ops = np.array([LINEAGE_RANDAUGMENT_OPS.index(o) for o, _, _ in flat])
        levels = np.array([level for _, level, _ in flat])
        applied = np.array([a for _, _, a in flat])
        n = len(flat)
        assert len(LINEAGE_RANDAUGMENT_OPS) == 15
        assert {'Invert', 'Cutout'} <= set(LINEAGE_RANDAUGMENT_OPS)
        # each op with probability 1/15 (binomial sd about 0.0018)
        op_share = np.bincount(ops, minlength=15) / n
        assert np.abs(op_share - 1 / 15).max() < 0.01
        # magnitude index uniform on 1..9, never 0
        assert levels.min() == 1 and levels.max() == 9
        level_share = np.bincount(levels, minlength=10)[1:] / n
        assert np.abs(level_share - 1 / 9).max() < 0.012
        # each drawn op applied with probability 0.5 (sd 0.0035)
        assert abs(applied.mean() - 0.5) < 0.02
        # the same op twice in one image: probability 1/15
        same = np.mean([d[0][0] == d[1][0] for d in draws])
        assert abs(same - 1 / 15) < 0.015
        # the magnitude is drawn per op, not per image
        differ = np.mean([d[0][1] != d[1][1] for d in draws])
        assert abs(differ - 8 / 9) < 0.02

    def test_range_tables_are_the_packages(self):
        tables = LineageRandAugment().tables
        assert tables['Rotate'][9] == 30 and tables['ShearX'][9] == 0.3
        assert tables['TranslateX'][9] == pytest.approx(150 / 331)
        assert list(tables['Posterize'][1:]) == [8, 7, 7, 6, 6, 5, 5, 4, 4]
        assert list(tables['Cutout'][1:]) == [2, 4, 7, 9, 11, 13, 16, 18, 20]
        assert tables['Solarize'][0] == 256 and tables['Solarize'][9] == 0
        assert tables['Color'][9] == pytest.approx(0.9)

    @pytest.mark.parametrize('op', [
        'Invert', 'Cutout', 'Sharpness', 'AutoContrast', 'Posterize',
        'ShearX', 'TranslateX', 'TranslateY', 'ShearY', 'Rotate', 'Equalize',
        'Contrast', 'Color', 'Solarize', 'Brightness'
    ])
    def test_every_op_keeps_shape_and_changes_the_image(self, op):
        from PIL import Image
        np.random.seed(3)
        rng = np.random.RandomState(0)
        array = rng.randint(30, 200, size=(40, 48, 3)).astype(np.uint8)
        array[:, :24] //= 2  # some structure for the geometric ops
        transform = LineageRandAugment()
        out = np.asarray(
            transform.apply(Image.fromarray(array), op,
                            transform.tables[op][9]))
        assert out.shape == array.shape and out.dtype == np.uint8
        assert (out != array).any()

    def test_geometric_ops_fill_with_gray(self):
        from PIL import Image
        np.random.seed(0)
        array = np.zeros((32, 32, 3), np.uint8)
        transform = LineageRandAugment()
        out = np.asarray(
            transform.apply(Image.fromarray(array), 'TranslateX',
                            transform.tables['TranslateX'][9]))
        assert ((out == 0) | (out == 128)).all() and (out == 128).any()

    def test_bgr_round_trip_and_the_configs_use_it(self):
        import os.path as osp

        from mmengine.config import Config
        img = np.random.RandomState(0).randint(
            0, 256, size=(16, 16, 3)).astype(np.uint8)
        # prob 0: nothing is applied, the BGR image comes back unchanged
        out = LineageRandAugment(prob=0.0)(dict(img=img.copy()))['img']
        assert (out == img).all()
        root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
        for name in ('coco448', 'coco576', 'voc448', 'voc576', 'nus448',
                     'vg500_448', 'openimages448'):
            cfg = Config.fromfile(
                osp.join(root, 'configs', '_base_', 'datasets',
                         f'{name}.py'))
            types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
            assert 'LineageRandAugment' in types, name
            assert 'RandAugment' not in types, name
        # the earlier timm policy stays available by name
        timm = [t['type'] for t in cfg.train_pipeline_timm_randaugment]
        assert 'RandAugment' in timm and 'LineageRandAugment' not in timm

    def test_bad_arguments_name_the_key(self):
        with pytest.raises(ValueError, match='magnitude_range'):
            LineageRandAugment(magnitude_range=(0, 10))
        with pytest.raises(ValueError, match='prob'):
            LineageRandAugment(prob=2)
        with pytest.raises(ValueError, match='uint8'):
            LineageRandAugment()(dict(img=np.zeros((4, 4), np.uint8)))
