"""How much of a head's class attention falls on the class's objects.

The box figures of :class:`~oprl_mm.evaluation.AttentionLocalization` (the
metric a config's ``test_evaluator`` runs through ``tools/test.py``) on the
first images of a split, with a per-class table, for a config whose
evaluators do not ask for it (the measure itself is
:func:`oprl_mm.apis.measure_localization`). For every image of a split whose data infos
hold ``gt_bboxes`` and ``gt_bboxes_labels`` (SynthMultiLabel,
CocoMultiLabel ...) and every TRUE label c with boxes, the attention weights
of class c are upsampled to the image (bilinear), renormalised to sum 1, and
summed over the pixels inside c's boxes. Reported, as means over (image,
label) pairs:

* ``SPA``: the weights after masking (Eq. 6-7) with the model's tau (for
  CSRAMapHead and LinearCAMHead, their class attention or CAM);
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
import sys

# tools/ holds oprl_cli, the tools' shared command-line plumbing
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from oprl_cli.args import add_model_args  # noqa: E402


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


def print_table(split, res, figures, tau, type_name=''):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f'{split}: {res["images"]} images, '
                  f'{res["pairs"]} (image, true label) pairs')
    table.add_column('attention')
    table.add_column('mean share in boxes', justify='right')
    table.add_column('peak in box', justify='right')
    name = f'SPA (tau={tau:g})' if tau is not None else \
        f'class attention ({type_name})'
    table.add_row(name, f'{figures["spa_share"]:.3f}',
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

    from oprl_cli.args import inferencer_from_args
    from oprl_mm.apis import measure_localization, split_dataloader_cfg
    from oprl_mm.evaluation.localization import (localization_summary,
                                                 with_region_meta_keys)

    inferencer = inferencer_from_args(args)
    cfg = inferencer.config
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    dataset_cfg = split_dataloader_cfg(cfg, args.split)['dataset']
    dataset = DATASETS.build(with_region_meta_keys(dataset_cfg))
    model = inferencer.model
    results, images = measure_localization(model, dataset, args.num_images,
                                           args.batch_size)
    res = localization_summary(results, images, len(inferencer.classes))
    figures = res['figures']
    spa = getattr(model.head, 'spa', None)
    tau = spa.filter_ratio if spa is not None else None
    print_table(args.split, res, figures, tau, type(model.head).__name__)
    if args.out:
        write_json(args, res, figures, tau, inferencer.classes)


if __name__ == '__main__':
    main()
