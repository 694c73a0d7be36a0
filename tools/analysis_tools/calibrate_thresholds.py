"""Per-class thresholds that maximise each class's F1.

For every class, chooses the threshold with the best F1 on one split's
scores and targets, the very ones ``MLCMetric`` scores (VOC's
difficult-only labels ignored), saves ``{"classes": [...], "thresholds":
[...]}`` for ``MultiLabelInferencer`` / ``tools/infer.py --thr``, and reports
CP, CR, CF1, OP, OR, OF1 at ``--default-thr`` and with the calibrated
thresholds on an evaluation split (default: the same split).

The predictions come from ``tools/test.py --dump``, so that a split is
scored once::

    python tools/test.py CONFIG CKPT --dump val.pkl
    python tools/test.py CONFIG CKPT --dump val_shift.pkl \
        --cfg-options test_dataloader.dataset.split=val_shift
    python tools/analysis_tools/calibrate_thresholds.py CONFIG \
        --predictions val.pkl --eval-predictions val_shift.pkl \
        --out thresholds.json

or from running the checkpoint on ``cfg.<split>_dataloader`` here::

    python tools/analysis_tools/calibrate_thresholds.py CONFIG CKPT \
        --split val --eval-split val_shift --out thresholds.json

Thresholds chosen on the split they are reported on give optimistic
figures: report on another split. ``--cfg-options`` changes any dataloader
(e.g. ``val_dataloader.dataset.num_images=100``).
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
        description='Choose per-class thresholds that maximise F1')
    add_model_args(parser, checkpoint='optional')
    parser.add_argument(
        '--predictions',
        help='predictions of the calibration split dumped by '
        '`tools/test.py --dump` (instead of running CHECKPOINT on --split)')
    parser.add_argument(
        '--eval-predictions',
        help='predictions of the evaluation split, from `tools/test.py '
        '--dump`')
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
    args = parser.parse_args()
    needs_model = args.predictions is None or (
        args.eval_split is not None and args.eval_predictions is None)
    if needs_model and args.checkpoint is None:
        parser.error('give CHECKPOINT, or the predictions of tools/test.py '
                     '--dump with --predictions (and --eval-predictions)')
    return args


class Predictions:
    """Scores and targets of a split: read from a ``tools/test.py --dump``
    file, or made by running the checkpoint (loaded once) over the split's
    dataloader; the targets are ``MLCMetric``'s either way."""

    def __init__(self, args, cfg):
        self.args = args
        self.cfg = cfg
        self.model = None

    def load_model(self):
        from oprl_mm.apis import load_model

        if self.model is None and self.args.checkpoint is not None:
            self.model = load_model(self.cfg, self.args.checkpoint,
                                    self.args.device)
        return self.model

    def run_model(self, split):
        from mmengine.runner import Runner
        from rich.progress import Progress

        from oprl_mm.apis import split_dataloader_cfg, split_predictions

        # loading the model also sets the config's default scope, which
        # the dataset's registry lookup needs
        model = self.load_model()
        loader = Runner.build_dataloader(
            split_dataloader_cfg(self.cfg, split))
        with Progress(transient=True) as progress:
            task = progress.add_task(split, total=len(loader.dataset))
            return split_predictions(model, loader,
                                     lambda n: progress.advance(task, n))

    def __call__(self, split, dump=None):
        from oprl_mm.apis import metric_scores_targets

        if dump is None:
            return metric_scores_targets(self.run_model(split))
        return metric_scores_targets(read_dump(dump))

    def class_names(self, num_classes):
        """The checkpoint's class names, else the config's, else
        class_i."""
        from oprl_mm.apis import config_classes

        model = self.load_model()
        classes = (getattr(model, 'dataset_meta', None) or {}).get(
            'classes') or config_classes(self.cfg)
        if classes is None or len(classes) != num_classes:
            classes = [f'class_{i}' for i in range(num_classes)]
        return [str(c) for c in classes]


def read_dump(path):
    """The data samples ``tools/test.py --dump`` wrote (mmengine's
    ``DumpResults``: a pickle, so read only files you wrote yourself)."""
    from mmengine.fileio import load

    if not osp.isfile(path):
        raise FileNotFoundError(f'predictions file {path!r} does not exist')
    if not path.endswith(('.pkl', '.pickle')):
        raise ValueError(
            f'--predictions {path}: expected the .pkl file of tools/test.py '
            '--dump FILE.pkl (the .pth files of older versions are no '
            'longer read: dump the split again)')
    samples = load(path)
    if not isinstance(samples, list) or not all(
            isinstance(s, dict) and 'pred_score' in s for s in samples):
        raise ValueError(f'{path!r} is not a file of tools/test.py --dump '
                         '(a list of data samples with pred_score)')
    return samples


def write_thresholds(args, classes, thresholds, best_f1, num_images, split):
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(
            dict(
                classes=classes,
                thresholds=[round(t, 6) for t in thresholds.tolist()],
                split=split,
                num_images=num_images,
                f1=[round(v, 4) for v in best_f1.tolist()],
                config=args.config,
                checkpoint=args.checkpoint,
                predictions=args.predictions),
            f,
            indent=1)
    print(f'{len(classes)} thresholds from {num_images} {split} images '
          f'written to {args.out}')


def report(name, rows):
    from rich.console import Console
    from rich.table import Table

    from oprl_mm.apis.calibration import METRIC_KEYS

    table = Table(title=name)
    table.add_column('thresholds')
    for key in METRIC_KEYS:
        table.add_column(key, justify='right')
    for label, metrics in rows:
        table.add_row(label, *(f'{metrics[k]:.2f}' for k in METRIC_KEYS))
    Console().print(table)


def evaluate(args, predictions, thresholds, calibrated, split):
    """Figures before and after on the evaluation split."""
    from oprl_mm.evaluation.mlc_metric import multilabel_metrics

    eval_split = args.eval_split or (
        args.eval_predictions and osp.basename(args.eval_predictions)) or \
        split
    if eval_split != split:
        calibrated = predictions(args.eval_split, args.eval_predictions)
    scores, target = calibrated
    before = multilabel_metrics(scores, target, args.default_thr)
    after = multilabel_metrics(scores, target, thresholds)
    note = (' (calibrated on the same split: optimistic)'
            if eval_split == split else f' (calibrated on {split})')
    report(f'{eval_split}, {scores.size(0)} images{note}',
           [(f'{args.default_thr} for all', before),
            (f'per class ({split})', after)])
    print(json.dumps(
        dict(eval_split=eval_split, calibrated_on=split,
             before={k: round(v, 2) for k, v in before.items()},
             after={k: round(v, 2) for k, v in after.items()})))


def main():
    args = parse_args()
    from oprl_mm.apis import f1_optimal_thresholds
    from oprl_cli.args import config_from_args

    cfg = config_from_args(args)
    predictions = Predictions(args, cfg)
    split = osp.basename(args.predictions) if args.predictions else \
        args.split
    scores, target = predictions(args.split, args.predictions)
    thresholds, best_f1 = f1_optimal_thresholds(scores, target,
                                                args.default_thr)
    classes = predictions.class_names(scores.size(1))
    write_thresholds(args, classes, thresholds, best_f1, scores.size(0),
                     split)
    evaluate(args, predictions, thresholds, (scores, target), split)


if __name__ == '__main__':
    main()
