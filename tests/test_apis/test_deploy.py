"""ONNX export: SPA alone (ties included) and the whole tiny model, checked
in onnxruntime against PyTorch."""
import json
import warnings

import cv2
import numpy as np
import pytest
import torch

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')

from oprl_mm.apis.deploy import ScoresModel, onnx_session  # noqa: E402
from oprl_mm.models.layers import SpatialPurifiedAttention  # noqa: E402


@pytest.mark.parametrize('filter_ratio', [0.5, 0.9, 1.0])
def test_spa_alone_keeps_the_same_positions(tmp_path, filter_ratio):
    gen = torch.Generator().manual_seed(0)
    # few distinct values: many ties, also at the threshold
    saliency = torch.randint(0, 4, (3, 5, 4, 4), generator=gen).float()
    saliency[0, 0] = 1.0  # a constant map keeps every position
    features = torch.randn(3, 8, 4, 4, generator=gen)
    spa = SpatialPurifiedAttention(filter_ratio).eval()
    path = str(tmp_path / 'spa.onnx')
    with warnings.catch_warnings():  # the tracer's, the legacy exporter's
        warnings.simplefilter('ignore')
        torch.onnx.export(
            spa, (saliency, features), path,
            input_names=['saliency', 'features'],
            output_names=['x', 'weights'],
            dynamic_axes={'saliency': {0: 'batch'},
                          'features': {0: 'batch'}},
            opset_version=17, dynamo=False)
    session = onnx_session(path)
    for batch in (1, 3):
        s, f = saliency[:batch], features[:batch]
        x, weights = session.run(None, {'saliency': s.numpy(),
                                        'features': f.numpy()})
        ref_x, ref_w = spa(s, f)
        np.testing.assert_array_equal(weights > 0, ref_w.numpy() > 0)
        np.testing.assert_allclose(weights, ref_w.numpy(), atol=1e-6)
        np.testing.assert_allclose(x, ref_x.numpy(), atol=1e-5)
    assert (weights[0, 0] > 0).all()


def test_export_verify_and_the_inferencer_scores(tiny_model, synth_images,
                                                 run_tool, tmp_path,
                                                 capsys):
    from oprl_mm.apis import MultiLabelInferencer
    config, checkpoint, classes = tiny_model
    out = tmp_path / 'tiny.onnx'
    run_tool('tools/deployment/pytorch2onnx.py', config, checkpoint,
             '--out', out, '--verify')
    assert 'verified in onnxruntime' in capsys.readouterr().out
    graph = onnx.load(str(out))
    assert [i.name for i in graph.graph.input] == ['input']
    assert [o.name for o in graph.graph.output] == ['scores']
    meta = {p.key: json.loads(p.value) for p in graph.metadata_props}
    assert meta['classes'] == classes
    assert meta['preprocess']['img_size'] == 64
    assert meta['preprocess']['to_rgb'] is True

    # docs/deploy.md's preprocessing, read from the metadata, and the
    # graph give the inferencer's scores
    session = onnx_session(str(out))
    custom = session.get_modelmeta().custom_metadata_map
    pre = json.loads(custom['preprocess'])
    assert json.loads(custom['classes']) == classes

    def preprocess(path):
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        img = cv2.resize(img, (pre['img_size'], pre['img_size']),
                         interpolation=cv2.INTER_LINEAR)
        if pre['to_rgb']:
            img = img[..., ::-1]
        img = (img.astype(np.float32) - pre['mean']) / pre['std']
        return img.transpose(2, 0, 1)

    inferencer = MultiLabelInferencer(config, checkpoint, device='cpu')
    paths = sorted(str(p) for p in synth_images.glob('*.png'))[:3]
    batch = np.stack([preprocess(p) for p in paths]).astype(np.float32)
    (scores, ) = session.run(['scores'], {'input': batch})
    expected = [r['pred_scores'] for r in inferencer(paths, num_workers=0)]
    np.testing.assert_allclose(scores, expected, atol=1e-4)
    with torch.no_grad():
        eager = ScoresModel(inferencer.model)(torch.from_numpy(batch))
    np.testing.assert_allclose(eager.numpy(), expected, atol=1e-5)


def test_onnx_latency_json(tiny_model, run_tool, tmp_path):
    config = tiny_model[0]
    out = tmp_path / 'latency.json'
    run_tool('tools/deployment/onnx_latency.py', config, '--batch-sizes', 1,
             2, '--warmup', 0, '--runs', 2, '--threads', 1, '--json', out)
    content = json.loads(out.read_text())
    assert [r['batch'] for r in content['rows']] == [1, 2]
    for row in content['rows']:
        assert row['pytorch_ms'] > 0 and row['onnxruntime_ms'] > 0
    assert content['img_size'] == 64 and content['threads'] == 1


@pytest.mark.parametrize('size', [0, 1, 7, 48])
def test_export_size_off_the_stride_refused(tiny_model, run_tool, tmp_path,
                                            size):
    # 0 exported at the config's 64 px; 1 and 7 exported and "verified"
    config, checkpoint, _ = tiny_model
    out = tmp_path / 'tiny.onnx'
    with pytest.raises(SystemExit) as e:
        run_tool('tools/deployment/pytorch2onnx.py', config, checkpoint,
                 '--out', out, '--img-size', size)
    msg = str(e.value.code)
    assert msg.startswith('error: --img-size') and f'size {size}' in msg
    if size:
        assert "backbone's stride 32" in msg
    assert not out.exists()


def test_export_refuses_a_checkpoint_that_does_not_fit(
        tiny_model, misfit_checkpoints, run_tool, tmp_path):
    from oprl_mm.engine.strict_load import CheckpointMismatchError
    config, _, _ = tiny_model
    with pytest.raises(CheckpointMismatchError, match='another class count'):
        run_tool('tools/deployment/pytorch2onnx.py', config,
                 misfit_checkpoints['eight_classes'], '--out',
                 tmp_path / 'tiny.onnx')


@pytest.mark.parametrize('normalise', [True, False])
def test_preprocess_info_follows_the_preprocessor(normalise):
    from types import SimpleNamespace

    from mmpretrain.models import ClsDataPreprocessor

    from oprl_mm.apis.deploy import preprocess_info
    pre = ClsDataPreprocessor(
        mean=[1., 2., 3.] if normalise else None,
        std=[4., 5., 6.] if normalise else None,
        to_rgb=True)
    info = preprocess_info(SimpleNamespace(data_preprocessor=pre), 32)
    assert info['to_rgb'] is True and info['img_size'] == 32
    if normalise:
        assert info['mean'] == [1., 2., 3.] and info['std'] == [4., 5., 6.]
    else:
        assert info['mean'] is None and info['std'] is None
