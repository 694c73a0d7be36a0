import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import oprl_mm  # noqa: F401

NUM_CLASSES = 6
DEFAULT_ARGS = dict(type='OPRLHead', num_classes=NUM_CLASSES, in_channels=16)


def samples(labels):
    return [DataSample().set_gt_label(torch.tensor(lab)) for lab in labels]


def feats(batch=2, size=5):
    return (torch.randn(batch, 16, size, size), )


def test_loss_keys_and_values():
    head = MODELS.build(DEFAULT_ARGS)
    losses = head.loss(feats(), samples([[0, 2], [5]]))
    assert set(losses) == {'loss_cls', 'loss_aux'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())


def test_aux_loss_weight_scales_loss_aux():
    torch.manual_seed(0)
    head = MODELS.build(DEFAULT_ARGS)
    f, s = feats(), samples([[1], [3, 4]])
    base = head.loss(f, s)['loss_aux']
    head.aux_loss_weight = 2.5
    torch.testing.assert_close(head.loss(f, s)['loss_aux'], 2.5 * base)


def test_p_aux_is_mean_of_topk_sigmoid_saliency():
    head = MODELS.build(dict(DEFAULT_ARGS, aux_num_positions=3))
    out = head.forward_outputs(feats(batch=3))
    alpha = out['saliency'].flatten(2).sigmoid()
    expected = alpha.sort(dim=-1, descending=True).values[..., :3].mean(-1)
    torch.testing.assert_close(out['p_aux'], expected)
    assert (out['p_aux'] >= 0).all() and (out['p_aux'] <= 1).all()


def test_gradients_reach_backbone():
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
            neck=dict(
                type='TransformerEncoderNeck',
                in_channels=512,
                feedforward_channels=64),
            head=dict(type='OPRLHead', num_classes=4, in_channels=512)))
    x = torch.randn(2, 3, 64, 64)
    losses = model(x, samples([[0], [1, 3]]), mode='loss')
    sum(losses.values()).backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.neck.layers[0].attn.in_proj_weight.grad.abs().sum() > 0


def test_predict_scores_by_p_cls():
    head = MODELS.build(DEFAULT_ARGS).eval()
    f = feats(batch=2)
    preds = head.predict(f, samples([[0], [1]]))
    logits = head(f)
    for i, p in enumerate(preds):
        torch.testing.assert_close(p.pred_score, logits[i].sigmoid())
        expected = torch.where(logits[i].sigmoid() >= 0.5)[0]
        assert torch.equal(p.pred_label, expected)


@pytest.mark.parametrize('switch', [
    dict(use_spa=False),
    dict(use_aux_loss=False),
    dict(use_sapm=False),
    dict(use_average_message=False),
    dict(use_brrm=False),
    dict(use_spa=False, use_aux_loss=False, use_sapm=False, use_brrm=False),
])
def test_every_switch(switch):
    head = MODELS.build(dict(DEFAULT_ARGS, **switch))
    losses = head.loss(feats(), samples([[0], [2, 3]]))
    assert ('loss_aux' in losses) == switch.get('use_aux_loss', True)
    assert (head.gcn is None) == (switch.get('use_sapm') is False)
    assert (head.brrm is None) == (switch.get('use_brrm') is False)
    if switch.get('use_spa') is False:
        assert head.spa.filter_ratio == 0.0
    if 'use_average_message' in switch:
        assert torch.equal(head.gcn.message_matrix(1),
                           head.gcn.cooccurrence)
    sum(losses.values()).backward()
    assert head(feats()).shape == (2, NUM_CLASSES)


def test_spa_off_equals_softmax_pooling():
    head = MODELS.build(
        dict(DEFAULT_ARGS, use_spa=False, use_sapm=False, use_brrm=False))
    f = feats(batch=1)
    out = head.forward_outputs(f)
    w = out['saliency'].flatten(2).softmax(-1)
    x = torch.einsum('bcn,bdn->bcd', w, head.ctransform(f[0]).flatten(2))
    torch.testing.assert_close(out['logits'], head.classifier(x))


def test_label_out_of_range():
    head = MODELS.build(DEFAULT_ARGS)
    with pytest.raises(ValueError, match='out of range'):
        head.loss(feats(), samples([[0], [NUM_CLASSES]]))


def test_cooccurrence_file(tmp_path):
    a = np.random.rand(NUM_CLASSES, NUM_CLASSES).astype(np.float32)
    np.save(tmp_path / 'a.npy', a)
    head = MODELS.build(
        dict(DEFAULT_ARGS, cooccurrence_file=str(tmp_path / 'a.npy')))
    assert torch.allclose(head.gcn.cooccurrence, torch.from_numpy(a))
    assert not head.needs_cooccurrence
    np.save(tmp_path / 'bad.npy', np.eye(3))
    with pytest.raises(ValueError, match='num_classes=6'):
        MODELS.build(
            dict(DEFAULT_ARGS, cooccurrence_file=str(tmp_path / 'bad.npy')))
    with pytest.raises(FileNotFoundError, match='missing.npy'):
        MODELS.build(
            dict(
                DEFAULT_ARGS,
                cooccurrence_file=str(tmp_path / 'missing.npy')))


def test_cooccurrence_travels_in_state_dict():
    head = MODELS.build(DEFAULT_ARGS)
    a = torch.rand(NUM_CLASSES, NUM_CLASSES)
    head.set_cooccurrence(a)
    fresh = MODELS.build(DEFAULT_ARGS)
    fresh.load_state_dict(head.state_dict())
    torch.testing.assert_close(fresh.gcn.cooccurrence, a)


def test_vit_tokens_rejected():
    head = MODELS.build(DEFAULT_ARGS)
    with pytest.raises(ValueError, match='featmap'):
        head((torch.randn(2, 16), ))


LINEAR_COST = dict(
    embed_dims=4, cooccurrences_per_class=2, brrm_c_hidden_dims=3)


def test_linear_cost_head_shapes_and_losses():
    head = MODELS.build(dict(DEFAULT_ARGS, **LINEAR_COST))
    assert head.ctransform.out_channels == 4
    assert head.classifier.weight.shape == (NUM_CLASSES, 4)
    assert head.brrm.mix_c1[0].out_features == 3
    assert head.gcn.neighbour_index.shape == (NUM_CLASSES, 2)
    out = head.forward_outputs(feats(batch=3))
    assert out['logits'].shape == (3, NUM_CLASSES)
    assert out['attention'].shape == (3, NUM_CLASSES, 5, 5)
    losses = head.loss(feats(), samples([[0, 2], [5]]))
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in head.parameters())
    state = head.state_dict()
    assert 'gcn.neighbour_weight' in state and 'gcn.cooccurrence' not in state


def test_linear_cost_options_off_by_default():
    head = MODELS.build(DEFAULT_ARGS)
    assert head.ctransform.out_channels == 16
    assert 'gcn.cooccurrence' in head.state_dict()
    assert head.brrm.mix_c1[0].out_features == NUM_CLASSES
    # explicit None is the default
    torch.manual_seed(0)
    a = MODELS.build(DEFAULT_ARGS)
    torch.manual_seed(0)
    b = MODELS.build(
        dict(DEFAULT_ARGS, embed_dims=None, cooccurrences_per_class=None,
             brrm_c_hidden_dims=None))
    f = feats()
    torch.testing.assert_close(a.eval()(f), b.eval()(f))


@pytest.mark.parametrize('old, new', [('aux_topk', 'aux_num_positions'),
                                      ('label_dims', 'embed_dims'),
                                      ('cooccurrence_topk',
                                       'cooccurrences_per_class')])
def test_renamed_options_name_their_replacement(old, new):
    with pytest.raises(TypeError, match=f'`{old}` was renamed; pass {new}'):
        MODELS.build(dict(DEFAULT_ARGS, **{old: 2}))


def test_linear_cost_head_sets_cooccurrence():
    head = MODELS.build(dict(DEFAULT_ARGS, **LINEAR_COST))
    a = torch.rand(NUM_CLASSES, NUM_CLASSES)
    head.set_cooccurrence(a)
    top = a.clone().fill_diagonal_(-1).topk(2, dim=1).values
    torch.testing.assert_close(head.gcn.neighbour_weight, top)


def test_openimages_config_neck_head_under_half_the_backbone():
    """oprl_r101_openimages448: 9,605 classes, neck + head at most half of
    ResNet-101's multiply-adds at 448 (31.33 G by mmengine's counter, the
    figure of docs/efficiency.md), counted by the same counter."""
    import os.path as osp

    import torch.nn as nn
    from mmengine.analysis import FlopAnalyzer
    from mmengine.config import Config
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(
        osp.join(root, 'configs/oprl/oprl_r101_openimages448.py')).model
    assert cfg.head.num_classes == 9605

    class NeckHead(nn.Module):

        def __init__(self):
            super().__init__()
            self.neck = MODELS.build(cfg.neck)
            self.head = MODELS.build(cfg.head)

        def forward(self, feat):
            return self.head(self.neck((feat, )))

    model = NeckHead().eval()
    analyzer = FlopAnalyzer(model, (torch.randn(1, 2048, 14, 14), ))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    # embedding_bag (the top-k message, 2 x C k d = 0.08 G) is not counted
    assert analyzer.total() <= 0.5 * 31.33e9


def test_initialization_is_the_lineage_counterparts():
    # init_weights() is what the Runner calls; D = 64 channels
    torch.manual_seed(0)
    dims = 64
    head = MODELS.build(
        dict(DEFAULT_ARGS, in_channels=dims, num_classes=20))
    head.init_weights()
    bound = 1.0 / dims**0.5

    def assert_uniform(tensor, name):
        values = tensor.detach().flatten()
        assert values.abs().max() <= bound + 1e-7, name
        assert values.abs().max() > 0.9 * bound, name
        assert values.std().item() == pytest.approx(bound / 3**0.5,
                                                    rel=0.15), name

    # the classifier: Query2Label's GroupWiseLinear, uniform in +-1/sqrt(D)
    assert_uniform(head.classifier.weight, 'classifier.weight')
    assert_uniform(head.classifier.bias, 'classifier.bias')
    # Map and Ctransform: torch's default, as Query2Label's input_proj
    assert_uniform(head.saliency_map.weight, 'Map')
    assert_uniform(head.ctransform.weight, 'Ctransform')
