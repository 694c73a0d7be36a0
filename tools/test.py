"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``.

Checkpoints load with ``torch.load(weights_only=True)`` through oprl_mm's
narrow allowlist and must fit the config's model exactly: a missing,
unexpected or wrong-shaped key stops the run, naming the keys and the likely
cause. ``--out`` and ``--dump`` are checked before the first image. On N
GPUs: ``tools/dist_test.sh CONFIG CHECKPOINT N``.
"""
import argparse
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.runner import Runner

from oprl_cli.args import add_launcher_args, add_model_args

# the file formats mmengine's dump writes the metrics in
METRIC_FORMATS = ('.json', '.yaml', '.yml', '.pkl', '.pickle')
# what mmengine's DumpResults metric writes (--dump)
DUMP_FORMATS = ('.pkl', '.pickle')


def parse_args():
    parser = argparse.ArgumentParser(description='Test a classifier')
    add_model_args(parser, device=False)
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument(
        '--out', help='dump the metrics to this json/pkl file')
    parser.add_argument(
        '--dump',
        help='also save every image\'s predictions to this .pkl file '
        '(mmengine\'s DumpResults), for '
        'tools/analysis_tools/calibrate_thresholds.py --predictions')
    parser.add_argument(
        '--per-class',
        action='store_true',
        help='print the per-class AP table and save it as CSV in the work '
        'dir')
    add_launcher_args(parser)
    return parser.parse_args()


def add_evaluators(cfg, args) -> None:
    """``--per-class`` and ``--dump`` on the test evaluator."""
    if args.per_class:
        evaluators = cfg.test_evaluator
        if isinstance(evaluators, dict):
            evaluators = [evaluators]
        mlc = [e for e in evaluators if e.get('type') == 'MLCMetric']
        if len(mlc) != 1:
            raise ValueError('--per-class needs exactly one MLCMetric in the '
                             "config's test_evaluator")
        mlc[0]['per_class_file'] = osp.join(cfg.work_dir,
                                            'per_class_ap.csv')
    if args.dump:
        evaluators = cfg.test_evaluator
        if isinstance(evaluators, dict):
            evaluators = [evaluators]
        cfg.test_evaluator = list(evaluators) + [
            dict(type='DumpResults', out_file_path=args.dump)
        ]


def check_outputs(args) -> None:
    """``--out`` and ``--dump``: writable files of a format that fits,
    checked before the first image."""
    from oprl_cli.args import check_output_file

    for option in ('out', 'dump'):
        check_output_file(getattr(args, option), f'--{option}')
    if args.out and not args.out.endswith(METRIC_FORMATS):
        raise ValueError(f'--out {args.out}: the metrics are written as '
                         f'one of {", ".join(METRIC_FORMATS)}; give a file '
                         'name with one of these extensions')
    if args.dump and not args.dump.endswith(DUMP_FORMATS):
        raise ValueError(f'--dump {args.dump}: the predictions are written '
                         "by mmengine's DumpResults as a pickle; give a file "
                         f'name ending in {" or ".join(DUMP_FORMATS)}')


def main():
    args = parse_args()
    from oprl_cli.args import config_from_args
    from oprl_cli.launch import setup_launcher, teardown_distributed
    from oprl_mm.engine.strict_load import runner_load_strict

    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'checkpoint {args.checkpoint!r} does not exist')
    check_outputs(args)
    cfg = config_from_args(args, args.work_dir)
    setup_launcher(cfg, args.launcher)
    cfg.load_from = None  # loaded strictly below, not leniently by mmengine
    cfg.resume = False
    # A checkpoint's state_dict already holds the EMA weights (EMAHook swaps
    # them in when saving), the ones validation used: evaluate it as saved.
    cfg.custom_hooks = [
        h for h in cfg.get('custom_hooks', [])
        if h.get('type') not in ('EMAHook', 'CooccurrenceHook')
    ]
    if args.amp:
        cfg.test_cfg = cfg.get('test_cfg') or {}
        cfg.test_cfg['fp16'] = True
    add_evaluators(cfg, args)
    runner = Runner.from_cfg(cfg)
    runner_load_strict(runner, args.checkpoint)
    metrics = runner.test()
    # every rank holds the same metrics: one writes them
    if args.out and is_main_process():
        from mmengine.fileio import dump
        dump(metrics, args.out)
    del runner
    teardown_distributed()


if __name__ == '__main__':
    main()
