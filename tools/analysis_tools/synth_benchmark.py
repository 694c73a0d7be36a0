"""OPRL, its ablations and mmpretrain baselines on the embedded synthetic sets.

Trains every variant with the same data, backbone, schedule and budget over
several seeds, then scores the final (EMA) weights of each run::

    python tools/analysis_tools/synth_benchmark.py \
        [--config configs/oprl/oprl_r18_synth_entangled.py] [--seeds 0 1 2] \
        [--variants oprl no_spa ...] [--out docs/synth_benchmark_table.md]

Variants: ``oprl`` (the head as configured); the single ablations
``no_spa`` (tau = 0), ``no_sas`` (no aux loss), ``no_sapm`` (no GCN),
``no_amp`` (SAPM without the average message) and ``no_brrm``;
``linear_cost`` (embed_dims 128, cooccurrences_per_class 8,
brrm_c_hidden_dims 32; not run by default); mmpretrain's ``csra``
(``CSRAClsHead``) and ``linear`` (``MultiLabelLinearClsHead`` after
pooling) on the bare backbone, and ``csra_neck`` / ``linear_neck`` behind
the same Encoder_t neck. Every variant keeps the backbone and the loss
(ASL).

Per run (all in percent):

- ``mAP``, ``CF1``, ``OF1`` on ``val`` and on ``val_shift`` (threshold 0.5),
  and the gap ``val mAP - val_shift mAP``;
- ``small mAP``: mAP on the ``val`` images whose every object box has a
  side of at most ``--small-side`` (0.2) of the image (4 % of its area),
  over the classes with a positive among them;
- ``dep. AP shift``: on datasets with (anchor, dependent) pairs
  (``SynthEntangled``), the mean AP of the dependent classes on
  ``val_shift``, where they appear without their anchors;
- for heads with class maps (OPRL's SPA weights, CSRA's class attention,
  the linear head's CAM), the attention localisation of
  ``attention_localization.py`` on ``val``: the mean share of class c's
  attention inside c's boxes (the head's map, and plain softmax over the
  same saliency), chance (the boxes' area share) and the pointing game.

The same variants are config files in ``configs/oprl/ablations/``, whose
evaluators report these measures through ``tools/test.py``;
``config_benchmark.py`` runs any set of configs over seeds.

Each run writes ``WORK_DIR/<variant>_seed<N>/result.json``; ``--resume``
keeps the runs that have one, ``--jobs 2`` runs two at a time (on a 2-core
CPU about 1.4 times the throughput of one 2-thread run). All results go to
``WORK_DIR/results.json`` and the tables to stdout (and ``--out``).
"""
import argparse
import copy
import json
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np
from mmengine.config import Config, DictAction

from oprl_mm.utils import timed

SPLITS = ('val', 'val_shift')
KEYS = ('mAP', 'CF1', 'OF1')
DEFAULT_VARIANTS = ('oprl', 'no_spa', 'no_sas', 'no_sapm', 'no_amp',
                    'no_brrm', 'csra', 'linear', 'csra_neck', 'linear_neck')
HEAD_SWITCHES = dict(
    no_spa=dict(use_spa=False),
    no_sas=dict(use_aux_loss=False),
    no_sapm=dict(use_sapm=False),
    no_amp=dict(use_average_message=False),
    no_brrm=dict(use_brrm=False),
    # the linear-cost options of docs/large_vocabulary.md, sized for the
    # ResNet-18's D = 512 (with a smaller D, embed_dims 128 reduces less)
    linear_cost=dict(
        embed_dims=128, cooccurrences_per_class=8, brrm_c_hidden_dims=32))


def variant_cfg(cfg: Config, variant: str) -> Config:
    """The config of one variant of an OPRL config."""
    from oprl_mm.models.baselines import BASELINES, baseline_neck_head

    cfg = copy.deepcopy(cfg)
    head = cfg.model.head
    name, _, behind = variant.partition('_')
    if variant == 'oprl':
        pass
    elif variant in HEAD_SWITCHES:
        head.update(HEAD_SWITCHES[variant])
    elif name in BASELINES and behind in ('', 'neck'):
        if behind and cfg.model.get('neck') is None:
            raise ValueError(f'variant {variant!r} puts the baseline behind '
                             "the config's neck, but the config has none")
        cfg.model.neck, cfg.model.head = baseline_neck_head(
            name, head.num_classes, head.in_channels,
            head.get('loss', dict(type='AsymmetricLoss', gamma_neg=4.0)),
            cfg.model.get('neck') if behind else None)
        cfg.custom_hooks = [
            h for h in cfg.custom_hooks if h['type'] != 'CooccurrenceHook'
        ]
    else:
        raise ValueError(f'unknown variant {variant!r}')
    return cfg


def split_scores(model, cfg: Config, split: str):
    """N x C scores and targets of a split, and its dataset. Every split is
    read through ``val_dataloader`` with its dataset's ``split`` replaced,
    so that overrides of ``val_dataloader`` reach ``val_shift`` too."""
    from mmengine.runner import Runner

    from oprl_mm.apis.calibration import (metric_scores_targets,
                                          split_predictions)
    loader_cfg = copy.deepcopy(cfg.val_dataloader)
    loader_cfg.dataset.split = split
    loader = Runner.build_dataloader(loader_cfg)
    scores, target = metric_scores_targets(split_predictions(model, loader))
    return scores, target, loader.dataset


def class_ap(scores, target, rows=None):
    """Per-class AP over ``rows`` (all by default); NaN for a class with
    no positive there."""
    import torch
    from mmpretrain.evaluation.metrics import AveragePrecision

    if rows is not None:
        scores, target = scores[rows], target[rows]
    if not len(target):
        return torch.full(target.shape[1:], torch.nan)
    ap = AveragePrecision.calculate(scores, target, average=None)
    return torch.where((target == 1).any(0), ap, torch.nan)


def small_rows(dataset, small_side: float):
    """Indices of the images whose every box side is at most
    ``small_side`` of the image side (images without a box are left out)."""
    rows = []
    for i in range(len(dataset)):
        if hasattr(dataset, 'get_layout'):  # SynthMultiLabel: no rendering
            info, side = dataset.get_layout(i), dataset.img_size
        else:  # e.g. CocoMultiLabel: the size before any pipeline
            info = dataset.get_data_info(i)
            side = max(info.get('ori_shape') or
                       (info['height'], info['width']))
        boxes = np.asarray(info['gt_bboxes']).reshape(-1, 4)
        sides = np.maximum(boxes[:, 2] - boxes[:, 0],
                           boxes[:, 3] - boxes[:, 1])
        if len(boxes) and (sides <= small_side * side).all():
            rows.append(i)
    return rows


def evaluate(cfg: Config, checkpoint: str, small_side: float = 0.2) -> dict:
    """Every measure of the module docstring for one checkpoint."""
    import torch

    from oprl_mm.apis.inferencer import load_model
    from oprl_mm.evaluation.mlc_metric import multilabel_metrics
    from oprl_mm.models.heads import ClassMapsMixin

    model = load_model(cfg, checkpoint, device='cpu')
    result = {}
    for split in SPLITS:
        scores, target, dataset = split_scores(model, cfg, split)
        figures = multilabel_metrics(scores, target)
        result[split] = {k: float(figures[k]) for k in KEYS}
        if split == 'val':
            rows = small_rows(dataset, small_side)
            result['small_images'] = len(rows)
            result['small_mAP'] = float(
                class_ap(scores, target, rows).nanmean())
            val_dataset = dataset
        dependents = list(getattr(dataset, 'dependents', ()))
        if dependents:
            result[f'{split}_dependent_AP'] = float(
                class_ap(scores, target)[dependents].nanmean())
    result['gap'] = result['val']['mAP'] - result['val_shift']['mAP']
    if isinstance(model.head, ClassMapsMixin):
        from mmpretrain.registry import DATASETS

        from oprl_mm.apis import measure_localization
        from oprl_mm.evaluation.localization import (localization_summary,
                                                     with_region_meta_keys)
        boxed = DATASETS.build(
            with_region_meta_keys(copy.deepcopy(cfg.val_dataloader.dataset)))
        with torch.no_grad():
            results, images = measure_localization(model, boxed,
                                                   progress=False)
        num_classes = len(val_dataset.metainfo['classes'])
        result['localization'] = localization_summary(
            results, images, num_classes)['figures']
    return result


def run_one(cfg: Config, variant: str, seed: int, work_root: str,
            small_side: float) -> dict:
    """Train one variant with one seed; its measures."""
    from mmengine.runner import Runner

    cfg = variant_cfg(cfg, variant)
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.work_dir = osp.join(work_root, f'{variant}_seed{seed}')
    cfg.experiment_name = f'{variant}_seed{seed}_{time.time_ns()}'
    # no checkpoint but the last, which holds the EMA weights
    cfg.default_hooks.checkpoint = dict(
        type='AtomicCheckpointHook', interval=-1, save_last=True)
    # validation once, after the last epoch (the measures come after)
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs
    runner = Runner.from_cfg(cfg)
    train_s = timed(runner.train)[0]
    del runner
    checkpoint = osp.join(cfg.work_dir,
                          f'epoch_{cfg.train_cfg.max_epochs}.pth')
    return dict(variant=variant, seed=seed, train_s=train_s,
                **evaluate(cfg, checkpoint, small_side))


def _cell(values, digits=2):
    values = np.asarray(values, dtype=float)
    if not len(values) or np.isnan(values).all():
        return '-'
    return f'{np.nanmean(values):.{digits}f} ± {np.nanstd(values):.{digits}f}'


def tables(results, variants) -> str:
    """The accuracy table and, for OPRL heads, the localisation table."""
    has_dep = any('val_shift_dependent_AP' in r for r in results)
    head = ['model'] + [f'{s} {k}' for s in SPLITS for k in KEYS] + \
        ['gap', 'small mAP'] + (['dep. AP val', 'dep. AP shift']
                                if has_dep else []) + ['train s']
    lines = ['| ' + ' | '.join(head) + ' |', '|---' * len(head) + '|']
    loc_lines = [
        '| model | SPA share | softmax share | chance | SPA pointing '
        '| softmax pointing |', '|---' * 6 + '|'
    ]
    for variant in variants:
        rows = [r for r in results if r['variant'] == variant]
        if not rows:
            continue
        cells = [_cell([r[s][k] for r in rows]) for s in SPLITS
                 for k in KEYS]
        cells += [_cell([r['gap'] for r in rows]),
                  _cell([r['small_mAP'] for r in rows])]
        if has_dep:
            cells += [_cell([r.get(f'{s}_dependent_AP', np.nan)
                             for r in rows]) for s in SPLITS]
        cells.append(f'{np.mean([r["train_s"] for r in rows]):.0f}')
        lines.append(f'| {variant} | ' + ' | '.join(cells) + ' |')
        locs = [r['localization'] for r in rows if 'localization' in r]
        if locs:
            loc_lines.append(f'| {variant} | ' + ' | '.join(
                _cell([100 * loc[k] for loc in locs], 1)
                for k in ('spa_share', 'softmax_share', 'chance_share',
                          'spa_pointing', 'softmax_pointing')) + ' |')
    text = '\n'.join(lines)
    if len(loc_lines) > 2:
        text += '\n\nAttention localisation on `val` (percent):\n\n' + \
            '\n'.join(loc_lines)
    paired = paired_table(results, variants)
    if paired:
        text += ('\n\nEach variant minus `oprl` of the same seed, mean ± std '
                 'over seeds, (n/N): the seeds whose difference has the '
                 'sign of the mean:\n\n' + paired)
    return text


PAIRED = (('val mAP', lambda r: r['val']['mAP']),
          ('val_shift mAP', lambda r: r['val_shift']['mAP']),
          ('gap', lambda r: r['gap']),
          ('small mAP', lambda r: r['small_mAP']),
          ('dep. AP shift', lambda r: r.get('val_shift_dependent_AP')),
          ('SPA share', lambda r: 100 * r['localization']['spa_share']
           if 'localization' in r else None),
          ('SPA pointing', lambda r: 100 * r['localization']['spa_pointing']
           if 'localization' in r else None))


def paired_table(results, variants, reference='oprl') -> str:
    """Per-seed differences of each variant from ``reference``."""
    ref = {r['seed']: r for r in results if r['variant'] == reference}
    if not ref:
        return ''
    lines = ['| model | ' + ' | '.join(n for n, _ in PAIRED) + ' |',
             '|---' * (len(PAIRED) + 1) + '|']
    for variant in variants:
        rows = [r for r in results
                if r['variant'] == variant and r['seed'] in ref]
        if variant == reference or not rows:
            continue
        cells = []
        for _, get in PAIRED:
            diffs = [get(r) - get(ref[r['seed']]) for r in rows
                     if get(r) is not None and get(ref[r['seed']])
                     is not None]
            diffs = [d for d in diffs if np.isfinite(d)]
            if not diffs:
                cells.append('-')
                continue
            mean = float(np.mean(diffs))
            agree = sum(np.sign(d) == np.sign(mean) for d in diffs)
            cells.append(f'{mean:+.2f} ± {np.std(diffs):.2f} '
                         f'({agree}/{len(diffs)})')
        lines.append(f'| {variant} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--config', default='configs/oprl/oprl_r18_synth_entangled.py')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--variants', nargs='+', default=list(DEFAULT_VARIANTS))
    parser.add_argument('--work-dir', default='work_dirs/synth_benchmark')
    parser.add_argument(
        '--out', help='write the tables (markdown) to this file')
    parser.add_argument(
        '--small-side', type=float, default=0.2,
        help='largest box side of a "small" image, share of the image side')
    parser.add_argument(
        '--jobs', type=int, default=1,
        help='runs at a time, each in its own process with '
        'OMP_NUM_THREADS = CPU cores / jobs (default 1: in this process)')
    parser.add_argument(
        '--resume', action='store_true',
        help='keep the runs whose WORK_DIR/<variant>_seed<N>/result.json '
        'exists')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='overrides for every run, e.g. train_cfg.max_epochs=2')
    parser.add_argument('--single', nargs=2, metavar=('VARIANT', 'SEED'),
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def result_file(work_dir: str, variant: str, seed: int) -> str:
    return osp.join(work_dir, f'{variant}_seed{seed}', 'result.json')


def read_result(path: str) -> dict:
    """A run's ``result.json``; one written under the key's earlier
    spelling fails naming the current one."""
    with open(path) as f:
        result = json.load(f)
    if 'localisation' in result:
        raise ValueError(
            f"{path} holds the key 'localisation', now 'localization': "
            'rename it there, or rerun that run without --resume')
    return result


def run_and_save(cfg: Config, args, variant: str, seed: int) -> dict:
    result = run_one(cfg, variant, seed, args.work_dir, args.small_side)
    with open(result_file(args.work_dir, variant, seed), 'w') as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result), flush=True)
    return result


def run_in_processes(todo, args):
    """Run (variant, seed) pairs ``args.jobs`` at a time, each in a child
    process of this script; a failed run stops the sweep."""
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else (os.cpu_count() or 1)
    threads = max(1, cores // args.jobs)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    base = [sys.executable, osp.abspath(__file__), '--config', args.config,
            '--work-dir', args.work_dir, '--small-side',
            str(args.small_side)]
    if args.cfg_options:
        base += ['--cfg-options'] + [
            f'{k}={v}' for k, v in args.cfg_options.items()]
    running, todo = [], list(todo)
    try:
        _schedule(todo, running, base, env, args)
    finally:  # a failed run or Ctrl-C: no child outlives the sweep
        for proc, log, _, _ in running:
            proc.kill()
            proc.wait()
            log.close()


def _schedule(todo, running, base, env, args):
    """Start runs as slots free up; a failed run raises."""
    while todo or running:
        while todo and len(running) < args.jobs:
            variant, seed = todo.pop(0)
            log_dir = osp.join(args.work_dir, f'{variant}_seed{seed}')
            os.makedirs(log_dir, exist_ok=True)
            log = open(osp.join(log_dir, 'run.log'), 'w')
            proc = subprocess.Popen(
                base + ['--single', variant, str(seed)], env=env,
                stdout=log, stderr=subprocess.STDOUT)
            running.append((proc, log, variant, seed))
        time.sleep(1)
        for item in list(running):
            proc, log, variant, seed = item
            if proc.poll() is None:
                continue
            log.close()
            running.remove(item)
            if proc.returncode != 0:
                raise RuntimeError(
                    f'run {variant} seed {seed} failed (exit '
                    f'{proc.returncode}); see {log.name}')
            print(f'{variant} seed {seed} done', flush=True)


def run_todo(cfg, args, todo):
    """Train and evaluate each (variant, seed) of ``todo``."""
    if args.jobs > 1:
        run_in_processes(todo, args)
    else:
        for variant, seed in todo:
            run_and_save(cfg, args, variant, seed)


def main(argv=None):
    args = parse_args(argv)
    import oprl_mm  # noqa: F401
    for variant in args.variants:  # fail before the first run
        variant_cfg(Config(dict(model=dict(
            neck=dict(type='TransformerEncoderNeck'), head=dict(
                num_classes=2, in_channels=2)), custom_hooks=[])), variant)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    os.makedirs(args.work_dir, exist_ok=True)
    if args.single:
        run_and_save(cfg, args, args.single[0], int(args.single[1]))
        return
    # seed-major: an interrupted sweep still has every variant for the
    # seeds it finished
    todo = [(v, s) for s in args.seeds for v in args.variants
            if not (args.resume and osp.isfile(
                result_file(args.work_dir, v, s)))]
    wall = timed(lambda: run_todo(cfg, args, todo))[0]
    results = []
    for seed in args.seeds:
        for variant in args.variants:
            results.append(
                read_result(result_file(args.work_dir, variant, seed)))
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    command = ('python tools/analysis_tools/synth_benchmark.py --config '
               f'{args.config} --seeds {" ".join(map(str, args.seeds))} '
               f'--variants {" ".join(args.variants)} --jobs {args.jobs}' +
               (' --cfg-options ' + ' '.join(
                   f'{k}={v}' for k, v in args.cfg_options.items())
                if args.cfg_options else ''))
    text = (f'Produced by `{command}` ({wall:.0f} s wall for '
            f'{len(todo)} runs). Final EMA weights of each run; mean ± std '
            f'over seeds {", ".join(map(str, args.seeds))}.\n\n' +
            tables(results, args.variants) + '\n')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    print(text)


if __name__ == '__main__':
    main()
