"""OPRL, its ablations and mmpretrain baselines on SynthMultiLabel.

Trains every variant with the same data, backbone, schedule and budget over
several seeds, evaluates the final (EMA) weights on ``val`` and on
``val_shift`` (training co-occurrences broken), and writes a markdown table
of mAP, CF1 and OF1 (mean +- std over seeds)::

    python tools/analysis_tools/synth_benchmark.py \
        [--config configs/oprl/oprl_r18_synth.py] [--seeds 0 1 2] \
        [--variants oprl csra linear ...] [--out docs/synth_benchmark.md]

Variants: the OPRL head as configured, without SPA, without SAPM, without
BRRM, without the aux loss (SAS), with the linear-cost options
(``linear_cost``: label_dims 128, cooccurrence_topk 8, brrm_c_hidden_dims 32;
not run by default), mmpretrain's ``CSRAClsHead`` and
``MultiLabelLinearClsHead``. The baselines keep the backbone and the loss
(ASL) and drop the OPRL neck.
"""
import argparse
import copy
import json
import os.path as osp
import time

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.runner import Runner, TestLoop

from oprl_mm.models.baselines import BASELINES, baseline_neck_head

SPLITS = ('val', 'val_shift')
KEYS = ('mAP', 'CF1', 'OF1')


def variant_cfg(cfg: Config, variant: str) -> Config:
    cfg = copy.deepcopy(cfg)
    head = cfg.model.head
    switches = dict(
        no_spa=dict(use_spa=False),
        no_sapm=dict(use_sapm=False),
        no_brrm=dict(use_brrm=False),
        no_aux=dict(use_aux_loss=False),
        # the linear-cost options of docs/large_vocabulary.md at D = 512
        linear_cost=dict(
            label_dims=128, cooccurrence_topk=8, brrm_c_hidden_dims=32))
    if variant == 'oprl':
        pass
    elif variant in switches:
        head.update(switches[variant])
    elif variant in BASELINES:
        cfg.model.neck, cfg.model.head = baseline_neck_head(
            variant, head.num_classes, head.in_channels,
            head.get('loss', dict(type='AsymmetricLoss', gamma_neg=4.0)))
        cfg.custom_hooks = [
            h for h in cfg.custom_hooks if h['type'] != 'CooccurrenceHook'
        ]
    else:
        raise ValueError(f'unknown variant {variant!r}')
    return cfg


def run_one(cfg: Config, variant: str, seed: int, work_root: str) -> dict:
    cfg = variant_cfg(cfg, variant)
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.work_dir = osp.join(work_root, f'{variant}_seed{seed}')
    cfg.experiment_name = f'{variant}_seed{seed}_{time.time_ns()}'
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=-1, save_last=True)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    result = dict(variant=variant, seed=seed, train_s=time.time() - start)
    for split in SPLITS:
        loader = copy.deepcopy(cfg.val_dataloader)
        loader.dataset.split = split
        metrics = TestLoop(runner, loader, cfg.val_evaluator).run()
        result[split] = {k: float(metrics[k]) for k in KEYS}
    return result


def table(results, variants) -> str:
    lines = [
        '| model | ' + ' | '.join(f'{s} {k}' for s in SPLITS for k in KEYS) +
        ' | train s |', '|---' * (len(SPLITS) * len(KEYS) + 2) + '|'
    ]
    for variant in variants:
        rows = [r for r in results if r['variant'] == variant]
        if not rows:
            continue
        cells = []
        for split in SPLITS:
            for key in KEYS:
                vals = np.array([r[split][key] for r in rows])
                cells.append(f'{vals.mean():.2f} ± {vals.std():.2f}')
        secs = np.mean([r['train_s'] for r in rows])
        lines.append(f'| {variant} | ' + ' | '.join(cells) +
                     f' | {secs:.0f} |')
    return '\n'.join(lines)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--config', default='configs/oprl/oprl_r18_synth.py')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--variants',
        nargs='+',
        default=[
            'oprl', 'no_spa', 'no_sapm', 'no_brrm', 'no_aux', 'csra', 'linear'
        ])
    parser.add_argument('--work-dir', default='work_dirs/synth_benchmark')
    parser.add_argument('--out', default='docs/synth_benchmark.md')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='overrides for every run, e.g. train_cfg.max_epochs=2')
    return parser.parse_args()


def main():
    args = parse_args()
    import oprl_mm  # noqa: F401
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    results_file = osp.join(args.work_dir, 'results.json')
    results = []
    # seed-major: an interrupted run still has every variant for the
    # seeds it finished
    for seed in args.seeds:
        for variant in args.variants:
            results.append(run_one(cfg, variant, seed, args.work_dir))
            print(json.dumps(results[-1]), flush=True)
            with open(results_file, 'w') as f:
                json.dump(results, f, indent=1)
    text = (
        '# SynthMultiLabel benchmark\n\n'
        f'Produced by `python tools/analysis_tools/synth_benchmark.py '
        f'--config {args.config} --seeds {" ".join(map(str, args.seeds))} '
        f'--variants {" ".join(args.variants)}'
        + (' --cfg-options ' + ' '.join(
            f'{k}={v}' for k, v in args.cfg_options.items())
           if args.cfg_options else '') + '`.\n\n'
        'Final EMA weights of each run; mean ± std over seeds '
        f'{", ".join(map(str, args.seeds))}. `val` follows the training '
        'distribution, `val_shift` breaks its label co-occurrences. '
        '"train s" is the wall time of training and per-epoch validation '
        'on the machine that ran it.\n\n' + table(results, args.variants) +
        '\n')
    with open(args.out, 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
