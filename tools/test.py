"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``.

Checkpoints load with ``torch.load(weights_only=True)`` through oprl_mm's
narrow allowlist. On N GPUs: ``tools/dist_test.sh CONFIG CHECKPOINT N``.
"""
import argparse
import os.path as osp

from mmengine.config import DictAction
from mmengine.dist import is_main_process
from mmengine.runner import Runner


def parse_args():
    parser = argparse.ArgumentParser(description='Test a classifier')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument(
        '--out', help='dump the metrics to this json/pkl file')
    parser.add_argument(
        '--per-class',
        action='store_true',
        help='print the per-class AP table and save it as CSV in the work '
        'dir')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    import oprl_mm  # noqa: F401
    from oprl_mm.engine.runner_setup import (load_config, setup_launcher,
                                             teardown_distributed)

    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'checkpoint {args.checkpoint!r} does not exist')
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    setup_launcher(cfg, args.launcher)
    cfg.load_from = args.checkpoint
    # A checkpoint's state_dict already holds the EMA weights (EMAHook swaps
    # them in when saving), the ones validation used: evaluate it as saved.
    cfg.custom_hooks = [
        h for h in cfg.get('custom_hooks', [])
        if h.get('type') not in ('EMAHook', 'CooccurrenceHook')
    ]
    if args.amp:
        cfg.test_cfg = cfg.get('test_cfg') or {}
        cfg.test_cfg['fp16'] = True
    if args.per_class:
        evaluator = cfg.test_evaluator
        if not isinstance(evaluator, dict):
            raise ValueError('--per-class needs a single test_evaluator')
        evaluator['per_class_file'] = osp.join(cfg.work_dir,
                                               'per_class_ap.csv')
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    # every rank holds the same metrics: one writes them
    if args.out and is_main_process():
        from mmengine.fileio import dump
        dump(metrics, args.out)
    del runner
    teardown_distributed()


if __name__ == '__main__':
    main()
