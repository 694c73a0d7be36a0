"""Per-class thresholds that maximise each class's F1.

Runs the model on one split (``--split``, default ``val``: the config's
``val_dataloader``), chooses for every class the threshold with the best F1
on it, saves ``{"classes": [...], "thresholds": [...]}`` for
``MultiLabelInferencer`` / ``tools/infer.py --thr``, and reports CP, CR,
CF1, OP, OR, OF1 at 0.5 and with the calibrated thresholds on
``--eval-split`` (default: the same split).

Thresholds chosen on the split they are reported on give optimistic
figures; report on another split, e.g. for SynthMultiLabel::

    python tools/analysis_tools/calibrate_thresholds.py CONFIG CKPT \
        --split val --eval-split val_shift --out thresholds.json

``--split X`` reads ``cfg.X_dataloader``; ``--cfg-options`` changes any of
them (e.g. ``val_dataloader.dataset.num_images=100``).
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import DictAction


def parse_args():
    parser = argparse.ArgumentParser(
        description='Choose per-class thresholds that maximise F1')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--split',
        default='val',
        help='split to calibrate on: reads cfg.<split>_dataloader '
        '(default val)')
    parser.add_argument(
        '--eval-split',
        default=None,
        help='split to report on (default: --split, which is optimistic)')
    parser.add_argument(
        '--out', default='thresholds.json', help='thresholds JSON file')
    parser.add_argument(
        '--default-thr',
        type=float,
        default=0.5,
        help='threshold of classes without a positive in the split, and the '
        '"before" threshold (default 0.5)')
    parser.add_argument('--device', default=None)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    return parser.parse_args()


def split_scores(inferencer, cfg, split):
    """N x C scores and targets of a split, through the model's test step."""
    import torch
    from mmengine.runner import Runner
    from mmpretrain.structures import label_to_onehot
    from rich.progress import track

    from oprl_mm.apis import split_dataloader_cfg

    loader = Runner.build_dataloader(split_dataloader_cfg(cfg, split))
    num_classes = inferencer.num_classes
    scores, targets = [], []
    with torch.no_grad():
        for data in track(loader, description=f'{split}'):
            for sample in inferencer.model.test_step(data):
                scores.append(sample.pred_score.float().cpu())
                if 'gt_score' in sample:
                    targets.append(sample.gt_score.float().cpu())
                else:
                    targets.append(
                        label_to_onehot(sample.gt_label.cpu(),
                                        num_classes).float())
    return torch.stack(scores), torch.stack(targets), loader.dataset


def report(name, metrics_before, metrics_after):
    from rich.console import Console
    from rich.table import Table

    from oprl_mm.apis.calibration import METRIC_KEYS

    table = Table(title=name)
    table.add_column('thresholds')
    for key in METRIC_KEYS:
        table.add_column(key, justify='right')
    for label, metrics in metrics_before + metrics_after:
        table.add_row(label, *(f'{metrics[k]:.2f}' for k in METRIC_KEYS))
    Console().print(table)


def main():
    args = parse_args()
    from oprl_mm.apis import (MultiLabelInferencer, f1_optimal_thresholds,
                              load_config, thresholded_metrics)

    cfg = load_config(args.config, args.cfg_options)
    inferencer = MultiLabelInferencer(
        cfg, args.checkpoint, device=args.device, thr=args.default_thr)
    scores, target, dataset = split_scores(inferencer, cfg, args.split)
    classes = list(dataset.metainfo.get('classes') or [])
    if len(classes) != inferencer.num_classes:
        classes = inferencer.classes
    thresholds, best_f1 = f1_optimal_thresholds(scores, target,
                                                args.default_thr)
    folder = osp.dirname(osp.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(
            dict(
                classes=classes,
                thresholds=[round(t, 6) for t in thresholds.tolist()],
                split=args.split,
                num_images=int(scores.size(0)),
                f1=[round(v, 4) for v in best_f1.tolist()],
                config=args.config,
                checkpoint=args.checkpoint),
            f,
            indent=1)
    print(f'{len(classes)} thresholds from {scores.size(0)} {args.split} '
          f'images written to {args.out}')

    eval_split = args.eval_split or args.split
    if eval_split != args.split:
        scores, target, _ = split_scores(inferencer, cfg, eval_split)
    before = thresholded_metrics(scores, target, args.default_thr)
    after = thresholded_metrics(scores, target, thresholds)
    note = (' (calibrated on the same split: optimistic)'
            if eval_split == args.split else f' (calibrated on {args.split})')
    report(f'{eval_split}, {scores.size(0)} images{note}',
           [(f'{args.default_thr} for all', before)],
           [(f'per class ({args.split})', after)])
    print(json.dumps(
        dict(eval_split=eval_split, calibrated_on=args.split,
             before={k: round(v, 2) for k, v in before.items()},
             after={k: round(v, 2) for k, v in after.items()})))


if __name__ == '__main__':
    main()
