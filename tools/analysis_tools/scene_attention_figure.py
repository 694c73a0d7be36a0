"""Draw a head's class attention on dataset scenes against their exact masks.

One row per scene of the config's test set: the scene, then for each true
class (up to ``--max-classes``) the head's attention (OPRL: the SPA weights,
Eq. 6-7) and the plain softmax over the positions of the same saliency S
(Eq. 3), each upsampled to the scene with the class's exact mask outlined
and the share of the map inside the mask in the title (as
``AttentionLocalization`` measures it). The config's head must keep its
class maps (``keep_class_maps=True``) and its test pipeline pack
``gt_masks``::

    python tools/analysis_tools/scene_attention_figure.py \\
        configs/oprl/oprl_lite0_cutout256.py CKPT --split val_shift \\
        --indices 0 1 2 3 --out attention.png

``--hide-photos`` draws the masks as flat silhouettes instead of the
photograph (for figures shared where the photographs' licence does not
reach).
"""
import argparse

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmpretrain.registry import DATASETS, MODELS

import oprl_mm  # noqa: F401
from oprl_mm.engine.strict_load import load_checkpoint_strict
from oprl_mm.evaluation.localization import (box_regions, mask_regions,
                                             original_boxes, upsample_maps)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', help='set the test set to this split')
    parser.add_argument('--split-key', default='test_dataloader.dataset.split')
    parser.add_argument('--indices', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--max-classes', type=int, default=2)
    parser.add_argument('--hide-photos', action='store_true')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def build(args):
    """The model (checkpoint loaded strictly) and the test set."""
    cfg = Config.fromfile(args.config)
    if args.split:
        cfg.merge_from_dict({args.split_key: args.split})
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.get(
        'data_preprocessor', cfg.model.get('data_preprocessor'))))
    load_checkpoint_strict(model, args.checkpoint)
    model.eval()
    return model, DATASETS.build(cfg.test_dataloader.dataset)


def scene_maps(model, dataset, idx):
    """(sample, true classes K, K x H x W attention, softmax, masks)."""
    with torch.no_grad():
        (sample, ) = model.test_step(pseudo_collate([dataset[idx]]))
    if 'class_attention' not in sample:
        raise ValueError('the head kept no class maps: set '
                         'model.head.keep_class_maps=True')
    size = tuple(int(v) for v in sample.ori_shape[:2])
    classes = torch.unique(sample.gt_label.cpu())
    saliency = sample.class_saliency.float().cpu()[classes]
    softmax = saliency.flatten(1).softmax(-1).reshape(saliency.shape)
    attention = sample.class_attention.float().cpu()[classes]
    maps, softmax = upsample_maps(torch.stack([attention, softmax]), size,
                                  True)
    labels = np.asarray(sample.gt_bboxes_labels)
    if 'gt_masks' in sample:
        masks = mask_regions(sample.gt_masks, labels, classes, size)
    else:  # a dataset with boxes only
        masks = box_regions(original_boxes(sample.to_dict()), labels,
                            classes, size)
    return sample, classes, maps, softmax, masks.float()


def scene_image(dataset, idx, masks, hide_photos):
    """The RGB scene, or the masks as flat grey silhouettes."""
    if hide_photos:
        shown = np.full(masks.shape[1:] + (3, ), 235, np.uint8)
        for k, mask in enumerate(masks.numpy() > 0):
            shown[mask] = 70 + 120 * k // max(len(masks) - 1, 1)
        return shown
    inner = getattr(dataset, 'dataset', dataset)  # a wrapped dataset
    return inner.get_data_info(idx)['img'][..., ::-1]


def draw_row(axes, shown, names, maps, softmax, masks):
    """The scene, then per class the attention and the softmax."""
    axes[0].imshow(shown)
    axes[0].set_title(', '.join(names), fontsize=8)
    for k, name in enumerate(names):
        for j, (title, heat) in enumerate((('attention', maps[k]),
                                           ('softmax of S', softmax[k]))):
            ax = axes[1 + 2 * k + j]
            share = float((heat * masks[k]).sum()) * 100
            ax.imshow(shown, alpha=0.35)
            ax.imshow(heat.numpy(), cmap='jet', alpha=0.6)
            ax.contour(masks[k].numpy(), levels=[0.5], colors='white',
                       linewidths=1)
            ax.set_title(f'{name}: {title}\n{share:.1f} % in mask',
                         fontsize=8)


def main(argv=None):
    args = parse_args(argv)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    model, dataset = build(args)
    cols = 1 + 2 * args.max_classes
    fig, axes = plt.subplots(len(args.indices), cols, squeeze=False,
                             figsize=(2.2 * cols, 2.5 * len(args.indices)))
    classes_of = dataset.metainfo['classes']
    for row, idx in zip(axes, args.indices):
        _, classes, maps, softmax, masks = scene_maps(model, dataset, idx)
        keep = slice(0, args.max_classes)
        names = [classes_of[int(c)] for c in classes[keep]]
        shown = scene_image(dataset, idx, masks, args.hide_photos)
        draw_row(row, shown, names, maps[keep], softmax[keep], masks[keep])
    for ax in axes.flat:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    plt.close(fig)
    print(f'{len(args.indices)} scenes drawn to {args.out}')


if __name__ == '__main__':
    main()
