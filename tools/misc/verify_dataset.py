"""Check the dataset of a config before training.

Builds one split's dataset exactly as training would, reads every
annotation, decodes every image, prints a summary and writes a JSON report.
Exits with status 1 when something would break training (the dataset cannot
be built, no image, missing or corrupt images, label indices out of range,
a class count that disagrees with the config), 0 otherwise; warnings are
printed but do not change the status.

Example::

    python tools/misc/verify_dataset.py configs/oprl/oprl_r101_coco448.py \
        --split val --num-workers 2
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.fileio import dump

# tools/ holds oprl_cli, the tools' shared command-line plumbing
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

SPLIT_KEYS = dict(
    train='train_dataloader', val='val_dataloader', test='test_dataloader')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Read every annotation and decode every image of a '
        "config's dataset split")
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--split', choices=list(SPLIT_KEYS), default='train',
        help='which dataloader of the config to check (default: train)')
    parser.add_argument(
        '--out',
        help='report JSON (default: work_dirs/verify_dataset/'
        '<config name>_<split>.json)')
    parser.add_argument(
        '--num-workers', type=int, default=2,
        help='DataLoader workers that decode images (default: 2)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. '
        'train_dataloader.dataset.data_root=data/mycoco')
    return parser.parse_args()


def build_dataset(cfg: Config, split: str):
    """Build the split's dataset without its pipeline."""
    import mmpretrain.datasets  # noqa: F401  registers mmpretrain datasets
    from mmpretrain.registry import DATASETS
    from mmengine.registry import init_default_scope

    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    loader_cfg = cfg.get(SPLIT_KEYS[split])
    if not loader_cfg or 'dataset' not in loader_cfg:
        raise KeyError(f'the config has no {SPLIT_KEYS[split]}.dataset')
    ds_cfg = loader_cfg['dataset'].copy()
    # images are decoded by the checker; the training pipeline is not needed
    ds_cfg['pipeline'] = []
    ds_cfg['lazy_init'] = False
    return DATASETS.build(ds_cfg), ds_cfg


def make_progress():
    """A rich progress bar with ETA; returns (callback, stop)."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                               TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    bar = Progress(
        TextColumn('decoding images'), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn('ETA'), TimeRemainingColumn(),
        transient=False)
    task = None

    def update(done, total):
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task('decode', total=total)
        bar.update(task, completed=done)

    return update, bar.stop


def read_config(args) -> Config:
    """The config with ``--cfg-options`` applied and its imports done."""
    from oprl_cli.launch import load_config

    cfg = load_config(args.config, args.cfg_options)
    import oprl_mm  # noqa: F401  registers the oprl-mm datasets
    return cfg


def expected_class_counts(cfg: Config) -> dict:
    """The class counts the model is built with, by config key."""
    expected = {
        'data_preprocessor.num_classes':
        (cfg.get('data_preprocessor') or {}).get('num_classes'),
        'model.head.num_classes':
        ((cfg.get('model') or {}).get('head') or {}).get('num_classes'),
    }
    return {k: v for k, v in expected.items() if v is not None}


def check_split(cfg: Config, split: str, num_workers: int) -> dict:
    """Build the split's dataset and verify it; a dataset that cannot be
    built is reported, not raised."""
    from oprl_cli.dataset_check import verify_dataset
    try:
        dataset, ds_cfg = build_dataset(cfg, split)
    except Exception as e:  # any build failure is the finding itself
        return dict(
            dataset=None,
            errors=[f'cannot build the {split} dataset: '
                    f'{type(e).__name__}: {e}'],
            warnings=[],
            ok=False)
    expected = expected_class_counts(cfg)
    update, stop = make_progress()
    try:
        report = dict(dataset=ds_cfg.get('type'))
        report.update(
            verify_dataset(
                dataset,
                num_classes=next(iter(expected.values()), None),
                num_workers=num_workers,
                progress=update))
    finally:
        stop()
    if len(set(expected.values())) > 1:
        report['errors'].append(
            'the config disagrees with itself on the class count: ' +
            ', '.join(f'{k}={v}' for k, v in expected.items()))
        report['ok'] = False
    return report


def main():
    args = parse_args()
    cfg = read_config(args)
    from oprl_cli.dataset_check import format_report

    from oprl_mm.utils import timed

    out = args.out or osp.join(
        'work_dirs', 'verify_dataset',
        f'{osp.splitext(osp.basename(args.config))[0]}_{args.split}.json')
    report = dict(config=args.config, split=args.split)
    seconds, checked = timed(
        lambda: check_split(cfg, args.split, args.num_workers))
    report.update(checked)
    report['seconds'] = round(seconds, 1)
    print(format_report(report))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    dump(report, out, indent=2)
    print(f'report written to {out}')
    sys.exit(0 if report['ok'] else 1)


if __name__ == '__main__':
    main()
