"""Train a set of configs over seeds and tabulate their evaluators' figures.

A thin loop: each (config, seed) run is ``tools/train.py CONFIG`` with
``randomness.seed=SEED`` in ``WORK_DIR/<config name>_seed<SEED>/``; its
figures are those of the run's LAST validation (whatever the config's
``val_evaluator`` reports: with the ablation configs, mAP, small-object mAP,
the dependents' mAP and attention localisation), plus, for each
``--test-split``, ``tools/test.py`` on the last checkpoint with that split::

    python tools/analysis_tools/config_benchmark.py \\
        configs/oprl/ablations/{oprl,no_spa,no_sas,no_sapm,no_amp}.py \\
        configs/oprl/ablations/{no_brrm,csra,csra_neck,linear}.py \\
        configs/oprl/ablations/linear_neck.py \\
        --seeds 0 1 2 --test-split val_shift --out table.md

Each finished run leaves ``result.json`` (written to a temporary name and
renamed): a rerun reads it instead of training again, so an interrupted
sweep resumes where it stopped. ``--jobs 2`` runs two at a time, each with
half the cores. A failed run stops the sweep (no further run starts, the
running ones are killed) and names its log. The table gives mean ± std over
seeds per config, and each config minus the reference (the first config, or
``--reference``) of the same seed, mean ± std over seeds and the number of
seeds whose difference is below 0. A rerun with other ``--keys`` only
tabulates the finished runs again.
"""
import argparse
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the columns, where a run reports them (mmengine metric names)
DEFAULT_KEYS = ('mAP', 'CF1', 'OF1', 'small/mAP', 'dependents/mAP',
                'paired/mAP', 'localization/box_share',
                'localization/box_share_softmax', 'localization/box_chance',
                'localization/box_pointing', 'localization/mask_share',
                'localization/mask_share_softmax',
                'localization/mask_chance', 'localization/mask_pointing')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', default='work_dirs/config_benchmark')
    parser.add_argument(
        '--test-split', nargs='*', default=[],
        help='also test the last checkpoint on these splits (set at '
        '--split-key), e.g. val_shift')
    parser.add_argument(
        '--split-key', default='test_dataloader.dataset.split',
        help='the config key --test-split sets (default: %(default)s; '
        'test_dataloader.dataset.dataset.split for a wrapped dataset such '
        'as BackboneFeatureCache)')
    parser.add_argument(
        '--keys', nargs='+', default=list(DEFAULT_KEYS),
        help='the figures tabulated, where a run has them')
    parser.add_argument('--reference', help='config name the differences '
                        'are taken from (default: the first config)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time (default 1)')
    parser.add_argument('--out', help='write the table (markdown) here')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[],
        help='key=value overrides passed to every train and test run')
    return parser.parse_args(argv)


def name_of(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def last_validation(run_dir: str) -> dict:
    """The metrics of the run's last validation (its scalars.json)."""
    files = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data',
                                      'scalars.json')))
    records = [json.loads(line) for f in files for line in open(f)]
    vals = [r for r in records if 'mAP' in r and 'loss' not in r]
    if not vals:
        raise RuntimeError(f'no validation in {run_dir}: the config must '
                           'validate (train_cfg.val_interval) at the end')
    return {k: v for k, v in vals[-1].items() if k != 'step'}


def run_one(config: str, seed: int, args, threads: int) -> dict:
    """Train (and test) one config with one seed, or read its result."""
    run_dir = osp.join(args.work_dir, f'{name_of(config)}_seed{seed}')
    result_file = osp.join(run_dir, 'result.json')
    if osp.isfile(result_file):  # finished before: read, not rerun
        with open(result_file) as f:
            return json.load(f)
    os.makedirs(run_dir, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    options = [f'randomness.seed={seed}'] + list(args.cfg_options)
    _call([osp.join(ROOT, 'tools/train.py'), config, '--work-dir', run_dir,
           '--cfg-options'] + options, env, osp.join(run_dir, 'train.log'))
    result = dict(config=config, name=name_of(config), seed=seed,
                  val=last_validation(run_dir))
    with open(osp.join(run_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    for split in args.test_split:
        out = osp.join(run_dir, f'test_{split}.json')
        _call([osp.join(ROOT, 'tools/test.py'), config, checkpoint,
               '--work-dir', osp.join(run_dir, f'test_{split}'), '--out',
               out, '--cfg-options', f'{args.split_key}={split}'
               ] + options, env, osp.join(run_dir, f'test_{split}.log'))
        with open(out) as f:
            result[split] = json.load(f)
    tmp = result_file + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, result_file)
    return result


# the child processes running now, killed when the sweep stops early
RUNNING = set()
STOP = threading.Event()


def _call(command, env, log_file):
    if STOP.is_set():
        raise RuntimeError('the sweep is stopping')
    with open(log_file, 'w') as log:
        proc = subprocess.Popen([sys.executable] + command, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        RUNNING.add(proc)
        try:
            proc.wait()
        finally:
            RUNNING.discard(proc)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(command[:2])} failed (exit '
                           f'{proc.returncode}); see {log_file}')


def _cell(values):
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if not len(values) or np.isnan(values).all():
        return '-'
    return f'{np.nanmean(values):.2f} ± {np.nanstd(values):.2f}'


def _paired_cell(diffs):
    """Mean ± std of paired differences, and how many seeds are below 0."""
    values = np.asarray(diffs, dtype=float)
    return f'{_cell(values)} ({int((values < 0).sum())}/{len(values)} < 0)'


def columns(results, keys, splits):
    """(header, getter) of every figure some run reports."""
    cols = [(f'val {k}', 'val', k) for k in keys]
    cols += [(f'{s} {k}', s, k) for s in splits for k in keys]
    return [(head, (lambda r, s=s, k=k: r.get(s, {}).get(k)))
            for head, s, k in cols
            if any(r.get(s, {}).get(k) is not None for r in results)]


def tables(results, names, keys, splits, reference) -> str:
    """Mean ± std per config, and the paired differences from reference."""
    cols = columns(results, keys, splits)
    head = '| config | ' + ' | '.join(h for h, _ in cols) + ' |\n' + \
        '|---' * (len(cols) + 1) + '|\n'
    text, paired = head, head
    ref = {r['seed']: r for r in results if r['name'] == reference}
    for name in names:
        rows = [r for r in results if r['name'] == name]
        text += f'| {name} | ' + ' | '.join(
            _cell([get(r) for r in rows]) for _, get in cols) + ' |\n'
        if name == reference:
            continue
        cells = []
        for _, get in cols:
            diffs = [get(r) - get(ref[r['seed']]) for r in rows
                     if r['seed'] in ref and get(r) is not None
                     and get(ref[r['seed']]) is not None]
            cells.append(_paired_cell(diffs) if diffs else '-')
        paired += f'| {name} | ' + ' | '.join(cells) + ' |\n'
    return (text + f'\nEach config minus `{reference}` of the same seed, '
            'mean ± std over seeds (in brackets: the seeds whose difference '
            'is below 0):\n\n' + paired)


def run_all(todo, args, threads):
    """Every (config, seed) run, ``args.jobs`` at a time. The first
    failure, Ctrl-C or SIGTERM stops the sweep: no further run starts and
    the running children are killed."""
    STOP.clear()
    previous = signal.signal(signal.SIGTERM, _terminate) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(_guarded, c, s, args, threads)
                       for c, s in todo]
            try:
                for future in as_completed(futures):
                    future.result()
            except BaseException:
                STOP.set()
                for proc in list(RUNNING):
                    proc.kill()
                raise
        return [f.result() for f in futures]
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _guarded(config, seed, args, threads):
    """run_one, unless the sweep is stopping; a failure stops it (set here,
    in the worker, before the worker takes the next run)."""
    if STOP.is_set():
        return None
    try:
        return run_one(config, seed, args, threads)
    except BaseException:
        STOP.set()
        raise


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    args = parse_args(argv)
    names = [name_of(c) for c in args.configs]
    if len(set(names)) != len(names):
        raise ValueError(f'two configs share a file name in {names}: their '
                         'runs would share a work dir')
    reference = args.reference or names[0]
    if reference not in names:
        raise ValueError(f'--reference {reference!r} is not one of {names}')
    os.makedirs(args.work_dir, exist_ok=True)
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else (os.cpu_count() or 1)
    threads = max(1, cores // args.jobs)
    todo = [(c, s) for s in args.seeds for c in args.configs]
    results = run_all(todo, args, threads)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    text = (f'Seeds {", ".join(map(str, args.seeds))}; the last validation'
            + ''.join(f' and `{s}`' for s in args.test_split) + '.\n\n' +
            tables(results, names, args.keys, args.test_split, reference))
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    print(text)


if __name__ == '__main__':
    main()
