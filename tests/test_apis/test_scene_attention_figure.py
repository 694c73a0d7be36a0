"""tools/analysis_tools/scene_attention_figure.py on the synthetic ablation
config (boxes, no masks) with a freshly initialised checkpoint: one PNG of
the requested scenes, photos or silhouettes; a head without class maps is
named."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import oprl_mm  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
import scene_attention_figure  # noqa: E402

CONFIG = osp.join(ROOT, 'configs/oprl/ablations/oprl.py')
SMALL = ['test_dataloader.dataset.num_images=4']


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    cfg = Config.fromfile(CONFIG)
    model = MODELS.build(cfg.model)
    path = tmp_path_factory.mktemp('ckpt') / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return str(path)


@pytest.mark.parametrize('hide', [False, True])
def test_draws_the_scenes(tmp_path, checkpoint, capsys, hide):
    out = tmp_path / 'fig.png'
    argv = [CONFIG, checkpoint, '--split', 'val_shift', '--indices', '0',
            '2', '--out', str(out), '--cfg-options'] + SMALL
    scene_attention_figure.main(argv + (['--hide-photos'] if hide else []))
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert '2 scenes drawn' in capsys.readouterr().out


def test_head_without_maps_is_named(tmp_path, checkpoint):
    with pytest.raises(ValueError, match='keep_class_maps=True'):
        scene_attention_figure.main([
            CONFIG, checkpoint, '--out', str(tmp_path / 'f.png'),
            '--cfg-options', 'model.head.keep_class_maps=False'] + SMALL)
