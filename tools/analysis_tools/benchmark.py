"""Parameters, FLOPs, throughput and peak memory of OPRL against baselines.

Four models on the config's backbone, measured in the same run (the paper's
Table 8 compares OPRL with its backbone and Query2Label):

* ``oprl``: the config's model (backbone, neck, OPRL head);
* ``backbone``: the backbone alone, no head;
* ``linear`` and ``csra``: the baselines of :mod:`oprl_mm.models.baselines`
  (global average pooling and ``MultiLabelLinearClsHead``; ``CSRAClsHead``,
  1 head, lambda 0.1, on the map).

FLOPs are multiply-adds of one image, counted twice:

* by mmengine's ``FlopAnalyzer`` (the counter behind
  ``get_model_complexity_info``), which traces every operator and counts
  the attention projections and matrix products; the operators it cannot
  count are listed;
* by thop (``thop.profile``), the paper's convention: Table 8's 31.5 G for
  ResNet-101 is thop's 31.46 G. thop counts only modules it has a rule for
  (convolutions, ``nn.Linear``, norms ...), so the attention of Encoder_t
  (``nn.MultiheadAttention``: projections and products), the matrix
  products outside such modules (SPA's weighted sum, SAPM's A X and K X)
  and layers that use their parameters directly (the group-wise
  classifier) add nothing. thop is optional
  (``pip install -e ".[analysis]"``); without it the thop column is left
  empty and the JSON says why.

Parameters are all of the model's parameters (``params_M``, the paper's
convention too); thop's own parameter total, which leaves out the modules
it has no rule for, is saved as ``thop_params_M``.

Throughput is images per second, the median over
``--runs`` timed forward passes (``model.eval()``, ``torch.inference_mode``,
``mode='tensor'``, random inputs, after ``--warmup`` passes); the timed runs
go round-robin over the models so that a slow spell of the machine hits all
of them alike (``throughput_best``, from the fastest run, is the figure
least disturbed by other processes on a shared machine). Peak memory is,
on CUDA, ``torch.cuda.max_memory_allocated`` during a forward pass
(weights included) and, on CPU, the rise of the process's peak resident
set (Linux ``VmHWM``, reset through ``/proc/self/clear_refs``) over its
size before the pass (weights excluded), both at the largest batch size.
Backbone weights are never downloaded (``init_cfg=None``)::

    python tools/analysis_tools/benchmark.py \
        configs/oprl/oprl_r101_coco448.py --device cuda --batch-sizes 1 16 \
        --amp --json bench.json

``--profile`` adds the time of backbone, neck and head of OPRL and the
torch.profiler operators that take the most time.
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import statistics
import sys
from collections import Counter

from mmengine.config import DictAction

from oprl_mm.models.baselines import BASELINES, baseline_model
from oprl_mm.utils import peak_memory_mb, timed, wall_times

# tools/ holds oprl_cli, the tools' shared command-line plumbing
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

VARIANTS = ('oprl', 'backbone') + BASELINES


def parse_args():
    parser = argparse.ArgumentParser(
        description='Params, FLOPs, throughput and memory of OPRL and '
        'baselines')
    parser.add_argument('config', help='config file')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument(
        '--batch-sizes', type=int, nargs='+', default=[1, 16])
    parser.add_argument(
        '--img-size',
        type=int,
        default=None,
        help='input side (default: the config\'s img_size, else 448)')
    parser.add_argument('--amp', action='store_true',
                        help='autocast (float16 on CUDA, bfloat16 on CPU)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument(
        '--models',
        nargs='+',
        default=list(VARIANTS),
        choices=VARIANTS,
        help='models to measure (default all four)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='CPU threads of torch (default: torch\'s choice)')
    parser.add_argument('--json', help='write the results to this JSON file')
    parser.add_argument(
        '--profile',
        action='store_true',
        help='time backbone / neck / head of OPRL and list the slowest '
        'operators (torch.profiler) at the first batch size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    return parser.parse_args()


def build_variants(cfg, names=VARIANTS):
    """The models to compare, all on the config's backbone."""
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg['backbone']['init_cfg'] = None
    model_cfg.pop('data_preprocessor', None)
    configs = dict(
        oprl=model_cfg,
        backbone=dict(type='ImageClassifier', backbone=model_cfg['backbone']))
    configs.update({name: baseline_model(name, model_cfg)
                    for name in BASELINES})
    return {name: MODELS.build(copy.deepcopy(configs[name]))
            for name in names}


def count_flops(model, img_size, device):
    """Parameters, multiply-adds of one image (mmengine's FlopAnalyzer),
    uncounted operators."""
    import torch
    from mmengine.analysis import FlopAnalyzer, parameter_count

    inputs = (torch.randn(1, 3, img_size, img_size, device=device), )
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    flops = analyzer.total()
    unsupported = Counter(analyzer.unsupported_ops())
    uncalled = sorted(analyzer.uncalled_modules())
    return dict(
        params=parameter_count(model)[''],
        flops=flops,
        unsupported_ops=dict(sorted(unsupported.items())),
        uncalled_modules=uncalled,
        by_module={
            k: v
            for k, v in analyzer.by_module().items()
            if k in ('backbone', 'neck', 'head')
        })


def thop_missing():
    """Why thop cannot count, or None when it can."""
    try:
        import thop  # noqa: F401
    except ImportError as e:  # also thop's distutils import on Python 3.12
        return (f'thop cannot be imported ({e}); install it with '
                '`pip install -e ".[analysis]"` for the paper-convention '
                'count')
    return None


def count_thop(model, img_size, device):
    """thop's multiply-adds and parameters of one image (the paper's
    convention), counted on a copy: thop leaves buffers on the modules it
    has no rule for."""
    import torch
    from thop import profile

    inputs = (torch.randn(1, 3, img_size, img_size, device=device), )
    macs, params = profile(copy.deepcopy(model), inputs=inputs, verbose=False)
    return dict(flops=macs, params=params)


def count_row(name, model, img_size, device, use_thop):
    """The size row of one model: parameters and both FLOPs counts."""
    stats = count_flops(model, img_size, device)
    thop_stats = count_thop(model, img_size, device) if use_thop else None
    row = dict(
        model=name,
        params_M=round(stats['params'] / 1e6, 4),
        gflops=round(stats['flops'] / 1e9, 4),
        gflops_thop=None,
        thop_params_M=None,
        gflops_by_module={
            k: round(v / 1e9, 3)
            for k, v in stats['by_module'].items()
        },
        uncounted_ops=stats['unsupported_ops'],
        uncalled_modules=stats['uncalled_modules'],
        throughput={},
        throughput_best={},
        peak_mem_MB=None)
    if thop_stats is not None:
        row['gflops_thop'] = round(thop_stats['flops'] / 1e9, 4)
        row['thop_params_M'] = round(thop_stats['params'] / 1e6, 4)
    thop_text = '' if thop_stats is None else \
        f' ({row["gflops_thop"]:.2f} G counted by thop)'
    print(f'{name}: {row["params_M"]:.2f} M params, {row["gflops"]:.2f} G '
          f'multiply-adds (mmengine){thop_text}')
    return row


class Forward:
    """One timed forward pass of a model on a fixed batch."""

    def __init__(self, model, batch, device, amp):
        import torch
        self.model, self.batch, self.device = model, batch, device
        self.cuda = device.startswith('cuda')
        dtype = torch.float16 if self.cuda else torch.bfloat16
        self.autocast = dict(
            device_type='cuda' if self.cuda else 'cpu',
            dtype=dtype,
            enabled=amp)

    def __call__(self):
        import torch
        with torch.inference_mode(), torch.autocast(**self.autocast):
            self.model(self.batch, mode='tensor')

    def timed(self):
        return timed(self)[0]


def profile_oprl(model, batch, device, amp, runs):
    """Median time of backbone, neck and head, and the top operators."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    cuda = device.startswith('cuda')
    autocast = dict(
        device_type='cuda' if cuda else 'cpu',
        dtype=torch.float16 if cuda else torch.bfloat16,
        enabled=amp)

    def median_ms(fn, *args):
        times, out = wall_times(lambda: fn(*args), runs)
        return out, statistics.median(times) * 1000

    with torch.inference_mode(), torch.autocast(**autocast):
        feats, t_backbone = median_ms(model.backbone, batch)
        if model.with_neck:
            feats, t_neck = median_ms(model.neck, feats)
        else:
            t_neck = 0.0
        _, t_head = median_ms(model.head, feats)
        activities = [ProfilerActivity.CPU] + (
            [ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=activities) as prof:
            model(batch, mode='tensor')
    sort = 'self_cuda_time_total' if cuda else 'self_cpu_time_total'
    table = prof.key_averages().table(sort_by=sort, row_limit=15)
    return dict(backbone=t_backbone, neck=t_neck, head=t_head), table


def device_name(device):
    import torch
    if device.startswith('cuda'):
        return torch.cuda.get_device_name(torch.device(device))
    name = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    name = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return f'{name} ({torch.get_num_threads()} threads)'


def main():
    args = parse_args()
    import torch

    from oprl_cli.launch import load_config

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError('--device cuda, but CUDA is not available')
    cfg = load_config(args.config, args.cfg_options)
    img_size = args.img_size or cfg.get('img_size', 448)
    models = build_variants(cfg, args.models)
    no_thop = thop_missing()
    if no_thop:
        print(f'thop column left empty: {no_thop}')
    rows = {}
    for name, model in models.items():
        model.to(args.device).eval()
        rows[name] = count_row(name, model, img_size, args.device,
                               use_thop=no_thop is None)
    for bs in args.batch_sizes:
        measure_batch(rows, models, bs, img_size, args)
    profile = profile_if_asked(models, img_size, args)
    print_table(rows, args)
    ratios = compute_ratios(rows, args.batch_sizes)
    for line in ratios.pop('lines', []):
        print(line)
    if args.json:
        write_json(args, rows, ratios, profile, img_size, no_thop)


def measure_batch(rows, models, bs, img_size, args):
    """Throughput of every model at one batch size, round-robin, and peak
    memory at the largest batch size."""
    import torch
    batch = torch.randn(bs, 3, img_size, img_size, device=args.device)
    forwards = {
        name: Forward(model, batch, args.device, args.amp)
        for name, model in models.items()
    }
    for forward in forwards.values():
        for _ in range(args.warmup):
            forward()
    times = {name: [] for name in forwards}
    for _ in range(args.runs):
        for name, forward in forwards.items():
            times[name].append(forward.timed())
    for name in forwards:
        rows[name]['throughput'][str(bs)] = round(
            bs / statistics.median(times[name]), 3)
        rows[name]['throughput_best'][str(bs)] = round(
            bs / min(times[name]), 3)
    print(f'batch {bs}: ' + ', '.join(
        f'{n} {rows[n]["throughput"][str(bs)]:.2f} img/s' for n in forwards))
    if bs == max(args.batch_sizes):
        for name, forward in forwards.items():
            mem = peak_memory_mb(forward, forward.cuda)[0]
            rows[name]['peak_mem_MB'] = None if mem is None else round(mem, 1)


def profile_if_asked(models, img_size, args):
    """With ``--profile``: OPRL's part times at the first batch size, and
    the profiler's operator table printed."""
    if not args.profile or 'oprl' not in models:
        return None
    import torch
    bs = args.batch_sizes[0]
    batch = torch.randn(bs, 3, img_size, img_size, device=args.device)
    times, table = profile_oprl(models['oprl'], batch, args.device, args.amp,
                                max(args.runs, 1))
    print(f'OPRL at batch {bs}, median ms: ' +
          ', '.join(f'{k} {v:.1f}' for k, v in times.items()))
    print(table)
    return dict(batch_size=bs, ms={k: round(v, 2) for k, v in times.items()})


def write_json(args, rows, ratios, profile, img_size, no_thop):
    """The rows, ratios and the conditions of the run, as JSON."""
    import torch
    os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
    cuda = args.device.startswith('cuda')
    content = dict(
        rows=list(rows.values()),
        ratios=ratios,
        config=args.config,
        device=device_name(args.device),
        torch=torch.__version__,
        img_size=img_size,
        amp=args.amp,
        batch_sizes=args.batch_sizes,
        warmup=args.warmup,
        runs=args.runs,
        threads=torch.get_num_threads(),
        gflops_unit='G multiply-adds per image (mmengine FlopAnalyzer)',
        gflops_thop_unit='G multiply-adds per image (thop.profile, the '
        "paper's convention: no attention, no parameter-only layers)",
        thop_missing=no_thop,
        peak_mem=dict(
            batch_size=max(args.batch_sizes),
            kind='torch.cuda.max_memory_allocated, weights included'
            if cuda else 'peak RSS rise over the RSS before the forward '
            '(VmHWM), weights excluded'),
        profile=profile)
    with open(args.json, 'w') as f:
        json.dump(content, f, indent=1)
    print(f'results written to {args.json}')


def compute_ratios(rows, batch_sizes):
    """OPRL / backbone throughput and the bound the FLOPs ratio sets."""
    if 'oprl' not in rows or 'backbone' not in rows:
        return {}
    oprl, backbone = rows['oprl'], rows['backbone']
    flops_ratio = backbone['gflops'] / oprl['gflops']
    out = dict(flops_ratio=round(flops_ratio, 4), throughput_ratio={},
               of_flops_bound={})
    out['throughput_ratio_best'] = {}
    lines = [f'FLOPs ratio backbone/OPRL: {flops_ratio:.3f} (the throughput '
             'ratio if time followed FLOPs)']
    if oprl['gflops_thop'] and backbone['gflops_thop']:
        thop_ratio = backbone['gflops_thop'] / oprl['gflops_thop']
        out['flops_ratio_thop'] = round(thop_ratio, 4)
        lines.append(f'FLOPs ratio backbone/OPRL counted by thop: '
                     f'{thop_ratio:.3f}')
    for bs in map(str, batch_sizes):
        ratio = oprl['throughput'][bs] / backbone['throughput'][bs]
        best = oprl['throughput_best'][bs] / backbone['throughput_best'][bs]
        out['throughput_ratio'][bs] = round(ratio, 4)
        out['throughput_ratio_best'][bs] = round(best, 4)
        out['of_flops_bound'][bs] = round(ratio / flops_ratio, 4)
        lines.append(f'batch {bs}: throughput ratio OPRL/backbone '
                     f'{ratio:.3f} (median runs; fastest runs {best:.3f}) '
                     f'= {ratio / flops_ratio:.3f} x the FLOPs bound')
    out['lines'] = lines
    return out


def print_table(rows, args):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f'{args.config}, {args.img_size or "config"} px, '
                  f'{args.device}{", AMP" if args.amp else ""}')
    table.add_column('model')
    table.add_column('params (M)', justify='right')
    table.add_column('G MACs (mmengine)', justify='right')
    table.add_column('G MACs (thop)', justify='right')
    for bs in args.batch_sizes:
        table.add_column(f'img/s @ {bs}', justify='right')
    table.add_column(f'peak mem MB @ {max(args.batch_sizes)}',
                     justify='right')
    table.add_column('uncounted ops (mmengine)')
    for row in rows.values():
        mem, thop = row['peak_mem_MB'], row['gflops_thop']
        table.add_row(
            row['model'], f'{row["params_M"]:.2f}', f'{row["gflops"]:.3f}',
            '-' if thop is None else f'{thop:.3f}',
            *(f'{row["throughput"][str(bs)]:.2f}' for bs in args.batch_sizes),
            '-' if mem is None else f'{mem:.0f}',
            ', '.join(f'{k.replace("aten::", "")} x{v}'
                      for k, v in row['uncounted_ops'].items()) or '-')
    Console(width=220).print(table)


if __name__ == '__main__':
    main()
