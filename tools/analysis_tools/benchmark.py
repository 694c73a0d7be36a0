"""Parameters, FLOPs, throughput and peak memory of OPRL against baselines.

Four models on the config's backbone, measured in the same run (the paper's
Table 8 compares OPRL with its backbone and Query2Label):

* ``oprl``: the config's model (backbone, neck, OPRL head);
* ``backbone``: the backbone alone, no head;
* ``linear``: backbone, global average pooling, ``MultiLabelLinearClsHead``;
* ``csra``: backbone, ``CSRAClsHead`` (1 head, lambda 0.1) on the map.

FLOPs are multiply-adds counted by mmengine's ``FlopAnalyzer`` (the counter
behind ``get_model_complexity_info``) for one image; the operators it cannot
count are listed. Throughput is images per second, the median over
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
import ctypes
import gc
import json
import os
import os.path as osp
import platform
import statistics
import time
from collections import Counter

from mmengine.config import DictAction

VARIANTS = ('oprl', 'backbone', 'linear', 'csra')


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
    head = model_cfg['head']
    num_classes, channels = head['num_classes'], head['in_channels']
    backbone = model_cfg['backbone']
    configs = dict(
        oprl=model_cfg,
        backbone=dict(type='ImageClassifier', backbone=backbone),
        linear=dict(
            type='ImageClassifier',
            backbone=backbone,
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='MultiLabelLinearClsHead',
                num_classes=num_classes,
                in_channels=channels)),
        csra=dict(
            type='ImageClassifier',
            backbone=backbone,
            head=dict(
                type='CSRAClsHead',
                num_classes=num_classes,
                in_channels=channels,
                num_heads=1,
                lam=0.1)),
    )
    return {name: MODELS.build(copy.deepcopy(configs[name]))
            for name in names}


def count_flops(model, img_size, device):
    """Parameters, multiply-adds of one image, uncounted operators."""
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
        import torch
        if self.cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        self()
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - start


def _read_status(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) / 1024  # kB -> MB
    return None


def peak_memory_mb(forward):
    """Peak memory of one forward pass (see the module docstring)."""
    import torch
    gc.collect()
    if forward.cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        forward()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 2**20
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except OSError:
        pass
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current RSS
    except OSError:
        return None
    before = _read_status('VmRSS')
    forward()
    peak = _read_status('VmHWM')
    if before is None or peak is None:
        return None
    return peak - before


def profile_oprl(model, batch, device, amp, runs):
    """Median time of backbone, neck and head, and the top operators."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    cuda = device.startswith('cuda')
    autocast = dict(
        device_type='cuda' if cuda else 'cpu',
        dtype=torch.float16 if cuda else torch.bfloat16,
        enabled=amp)

    def timed(fn, *args):
        times = []
        out = None
        for _ in range(runs):
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            out = fn(*args)
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        return out, statistics.median(times) * 1000

    with torch.inference_mode(), torch.autocast(**autocast):
        feats, t_backbone = timed(model.backbone, batch)
        if model.with_neck:
            feats, t_neck = timed(model.neck, feats)
        else:
            t_neck = 0.0
        _, t_head = timed(model.head, feats)
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

    import oprl_mm  # noqa: F401
    from oprl_mm.apis import load_config

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError('--device cuda, but CUDA is not available')
    cfg = load_config(args.config, args.cfg_options)
    img_size = args.img_size or cfg.get('img_size', 448)
    models = build_variants(cfg, args.models)
    rows = {}
    for name, model in models.items():
        model.to(args.device).eval()
        stats = count_flops(model, img_size, args.device)
        rows[name] = dict(
            model=name,
            params_M=round(stats['params'] / 1e6, 4),
            gflops=round(stats['flops'] / 1e9, 4),
            gflops_by_module={
                k: round(v / 1e9, 3)
                for k, v in stats['by_module'].items()
            },
            uncounted_ops=stats['unsupported_ops'],
            uncalled_modules=stats['uncalled_modules'],
            throughput={},
            throughput_best={},
            peak_mem_MB=None)
        print(f'{name}: {stats["params"] / 1e6:.2f} M params, '
              f'{stats["flops"] / 1e9:.2f} G multiply-adds')

    for bs in args.batch_sizes:
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
            f'{n} {rows[n]["throughput"][str(bs)]:.2f} img/s'
            for n in forwards))
        if bs == max(args.batch_sizes):
            for name, forward in forwards.items():
                mem = peak_memory_mb(forward)
                rows[name]['peak_mem_MB'] = None if mem is None else round(
                    mem, 1)

    profile = None
    if args.profile and 'oprl' in models:
        bs = args.batch_sizes[0]
        batch = torch.randn(bs, 3, img_size, img_size, device=args.device)
        times, table = profile_oprl(models['oprl'], batch, args.device,
                                    args.amp, max(args.runs, 1))
        profile = dict(batch_size=bs,
                       ms={k: round(v, 2) for k, v in times.items()})
        print(f'OPRL at batch {bs}, median ms: ' + ', '.join(
            f'{k} {v:.1f}' for k, v in times.items()))
        print(table)

    print_table(rows, args)
    ratios = compute_ratios(rows, args.batch_sizes)
    for line in ratios.get('lines', []):
        print(line)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        cuda = args.device.startswith('cuda')
        with open(args.json, 'w') as f:
            json.dump(
                dict(
                    rows=list(rows.values()),
                    ratios={k: v
                            for k, v in ratios.items() if k != 'lines'},
                    config=args.config,
                    device=device_name(args.device),
                    torch=torch.__version__,
                    img_size=img_size,
                    amp=args.amp,
                    batch_sizes=args.batch_sizes,
                    warmup=args.warmup,
                    runs=args.runs,
                    threads=torch.get_num_threads(),
                    gflops_unit='G multiply-adds per image (mmengine '
                    'FlopAnalyzer)',
                    peak_mem=dict(
                        batch_size=max(args.batch_sizes),
                        kind='torch.cuda.max_memory_allocated, weights '
                        'included' if cuda else
                        'peak RSS rise over the RSS before the forward '
                        '(VmHWM), weights excluded'),
                    profile=profile),
                f,
                indent=1)
        print(f'results written to {args.json}')


def compute_ratios(rows, batch_sizes):
    """OPRL / backbone throughput and the bound the FLOPs ratio sets."""
    if 'oprl' not in rows or 'backbone' not in rows:
        return {}
    flops_ratio = rows['backbone']['gflops'] / rows['oprl']['gflops']
    out = dict(flops_ratio=round(flops_ratio, 4), throughput_ratio={},
               of_flops_bound={})
    out['throughput_ratio_best'] = {}
    lines = [f'FLOPs ratio backbone/OPRL: {flops_ratio:.3f} (the throughput '
             'ratio if time followed FLOPs)']
    for bs in map(str, batch_sizes):
        ratio = rows['oprl']['throughput'][bs] / \
            rows['backbone']['throughput'][bs]
        best = rows['oprl']['throughput_best'][bs] / \
            rows['backbone']['throughput_best'][bs]
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
    table.add_column('GFLOPs (G MACs)', justify='right')
    for bs in args.batch_sizes:
        table.add_column(f'img/s @ {bs}', justify='right')
    table.add_column(f'peak mem MB @ {max(args.batch_sizes)}',
                     justify='right')
    table.add_column('uncounted ops')
    for row in rows.values():
        mem = row['peak_mem_MB']
        table.add_row(
            row['model'], f'{row["params_M"]:.2f}', f'{row["gflops"]:.3f}',
            *(f'{row["throughput"][str(bs)]:.2f}' for bs in args.batch_sizes),
            '-' if mem is None else f'{mem:.0f}',
            ', '.join(f'{k.replace("aten::", "")} x{v}'
                      for k, v in row['uncounted_ops'].items()) or '-')
    Console(width=200).print(table)


if __name__ == '__main__':
    main()
