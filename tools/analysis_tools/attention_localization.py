"""How much of OPRL's class attention falls on the class's objects.

For every image of a split whose data infos hold ``gt_bboxes`` and
``gt_bboxes_labels`` (SynthMultiLabel, CocoMultiLabel ...) and every TRUE
label c with boxes, the attention weights of class c are upsampled to the
image (bilinear), renormalised to sum 1, and summed over the pixels inside
c's boxes. Reported, as means over (image, label) pairs:

* ``SPA``: the weights after masking (Eq. 6-7) with the model's tau;
* ``softmax``: the same saliency S with tau = 0 (plain softmax attention,
  same weights, same forward pass);
* ``chance``: the share of the image the boxes cover (what a uniform map
  would put inside them);
* the pointing game: how often each map's peak pixel lies inside a box.

Boxes are in original-image pixels and the maps cover the whole input
image, so the test pipeline must resize without cropping (true of the
SynthMultiLabel and COCO configs)::

    python tools/analysis_tools/attention_localization.py CONFIG CKPT \
        --split val --num-images 500 --out localization.json
"""
import argparse
import json
import os
import os.path as osp

from oprl_mm.apis.cli import add_model_args


def parse_args():
    parser = argparse.ArgumentParser(
        description='Share of class attention inside the class boxes')
    add_model_args(parser)
    parser.add_argument(
        '--split',
        default='val',
        help='reads cfg.<split>_dataloader (default val)')
    parser.add_argument(
        '--num-images', type=int, default=None, help='first N images only')
    parser.add_argument('--batch-size', type=int, default=50)
    parser.add_argument('--out', help='write the figures to this JSON file')
    return parser.parse_args()


def batch_boxes(dataset, indices):
    """The data infos of ``indices`` with their boxes, box labels and
    original (H, W): the maps are compared at each image's own size."""
    import torch

    infos = [dataset.get_data_info(i) for i in indices]
    for info in infos:
        if 'gt_bboxes' not in info or 'gt_bboxes_labels' not in info:
            raise KeyError(
                f'{type(dataset).__name__} data infos hold no gt_bboxes '
                '/ gt_bboxes_labels: the measurement needs boxes')
    boxes = [torch.as_tensor(i['gt_bboxes']).reshape(-1, 4) for i in infos]
    labels = [torch.as_tensor(i['gt_bboxes_labels']).reshape(-1)
              for i in infos]
    shapes = [tuple(i.get('ori_shape') or i['img'].shape[:2])
              for i in infos]
    return infos, boxes, labels, shapes


def batch_maps(model, dataset, infos, num_classes):
    """The head's maps of a batch, and its true labels (B x C booleans)."""
    import torch
    from mmengine.dataset import pseudo_collate
    from mmpretrain.structures import label_to_onehot

    from oprl_mm.apis import head_maps

    data = pseudo_collate([dataset.pipeline(dict(i)) for i in infos])
    data = model.data_preprocessor(data, False)
    with torch.no_grad():
        outputs = head_maps(model, data['inputs'])
    true = torch.stack([
        label_to_onehot(s.gt_label, num_classes)
        for s in data['data_samples']
    ]).bool().cpu()
    return outputs, true


class Shares:
    """Sums over (image, true label) pairs of the box shares and hits."""

    def __init__(self, num_classes):
        import torch
        self.sums = dict(spa=0.0, softmax=0.0, chance=0.0, spa_hits=0.0,
                         softmax_hits=0.0)
        self.pairs, self.skipped = 0, 0
        self.per_class = torch.zeros(3, num_classes, dtype=torch.float64)
        self.per_class_n = torch.zeros(num_classes, dtype=torch.float64)

    def add(self, outputs, true, masks):
        """Add the images of one size: their maps, true labels and masks."""
        from oprl_mm.apis import (box_attention_share, box_pointing_hits,
                                  upsample_maps)

        has_box = masks.flatten(2).any(-1)
        valid = true & has_box
        self.skipped += int((true & ~has_box).sum())
        chance = masks.flatten(2).float().mean(-1)
        self.sums['chance'] += float(chance[valid].sum())
        self.per_class[2] += (chance * valid).sum(0).double()
        for row, key in enumerate(('spa', 'softmax')):
            name = 'attention' if key == 'spa' else 'attention_tau0'
            maps = upsample_maps(outputs[name].float().cpu(),
                                 masks.shape[-2:], normalise=True)
            share = box_attention_share(maps, masks)
            self.sums[key] += float(share[valid].sum())
            self.sums[f'{key}_hits'] += float(
                box_pointing_hits(maps, masks)[valid].sum())
            self.per_class[row] += (share * valid).sum(0).double()
        self.per_class_n += valid.sum(0).double()
        self.pairs += int(valid.sum())


def measure(inferencer, dataset, num_images=None, batch_size=50,
            progress=True):
    """Sums over (image, true label) pairs of the box shares.

    ``inferencer`` needs ``model`` and ``num_classes`` only."""
    from rich.progress import track

    from oprl_mm.apis import class_box_masks

    num_classes = inferencer.num_classes
    total = len(dataset) if num_images is None else min(
        num_images, len(dataset))
    shares = Shares(num_classes)
    starts = range(0, total, batch_size)
    for start in track(starts, description='localisation') if progress \
            else starts:
        infos, boxes, labels, shapes = batch_boxes(
            dataset, range(start, min(start + batch_size, total)))
        outputs, true = batch_maps(inferencer.model, dataset, infos,
                                   num_classes)
        # group images of the same size: one interpolation per group
        for shape in sorted(set(shapes)):
            idx = [k for k, s in enumerate(shapes) if s == shape]
            masks = class_box_masks([boxes[k] for k in idx],
                                    [labels[k] for k in idx], num_classes,
                                    shape)
            shares.add({k: v[idx] for k, v in outputs.items()}, true[idx],
                       masks)
    return dict(
        sums=shares.sums, pairs=shares.pairs, skipped=shares.skipped,
        images=total,
        per_class=(shares.per_class /
                   shares.per_class_n.clamp(min=1)).tolist(),
        per_class_pairs=shares.per_class_n.long().tolist())


def figures_of(res):
    """Means over the (image, true label) pairs."""
    pairs = max(res['pairs'], 1)
    return {
        'spa_share': res['sums']['spa'] / pairs,
        'softmax_share': res['sums']['softmax'] / pairs,
        'chance_share': res['sums']['chance'] / pairs,
        'spa_pointing': res['sums']['spa_hits'] / pairs,
        'softmax_pointing': res['sums']['softmax_hits'] / pairs,
    }


def print_table(split, res, figures, tau):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f'{split}: {res["images"]} images, '
                  f'{res["pairs"]} (image, true label) pairs')
    table.add_column('attention')
    table.add_column('mean share in boxes', justify='right')
    table.add_column('peak in box', justify='right')
    table.add_row(f'SPA (tau={tau:g})', f'{figures["spa_share"]:.3f}',
                  f'{figures["spa_pointing"]:.3f}')
    table.add_row('softmax (tau=0)', f'{figures["softmax_share"]:.3f}',
                  f'{figures["softmax_pointing"]:.3f}')
    table.add_row('chance (box area share)', f'{figures["chance_share"]:.3f}',
                  '')
    console = Console()
    console.print(table)
    if res['skipped']:
        console.print(f'{res["skipped"]} true labels without a box skipped')


def write_json(args, res, figures, tau, classes):
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    per_class = {
        name: dict(
            spa_share=round(res['per_class'][0][c], 4),
            softmax_share=round(res['per_class'][1][c], 4),
            chance_share=round(res['per_class'][2][c], 4),
            pairs=res['per_class_pairs'][c])
        for c, name in enumerate(classes)
    }
    with open(args.out, 'w') as f:
        json.dump(
            dict(
                config=args.config,
                checkpoint=args.checkpoint,
                split=args.split,
                tau=tau,
                images=res['images'],
                pairs=res['pairs'],
                skipped_labels=res['skipped'],
                **{k: round(v, 4) for k, v in figures.items()},
                per_class=per_class),
            f,
            indent=1)
    print(f'figures written to {args.out}')


def main():
    args = parse_args()
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS

    from oprl_mm.apis import split_dataloader_cfg
    from oprl_mm.apis.cli import inferencer_from_args

    inferencer = inferencer_from_args(args)
    cfg = inferencer.config
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    dataset = DATASETS.build(split_dataloader_cfg(cfg, args.split)['dataset'])
    res = measure(inferencer, dataset, args.num_images, args.batch_size)
    figures = figures_of(res)
    tau = inferencer.model.head.spa.filter_ratio
    print_table(args.split, res, figures, tau)
    if args.out:
        write_json(args, res, figures, tau, inferencer.classes)


if __name__ == '__main__':
    main()
