"""Cost of the OPRL neck + head against the number of classes C.

For each C and each head, the faithful one (the paper's, as in
``configs/oprl/oprl_r101_coco448.py``) and the linear-cost one (the head
options of ``configs/oprl/oprl_r101_openimages448.py``: ``embed_dims``,
``cooccurrences_per_class``, ``brrm_c_hidden_dims``), this reports

* parameters of the neck (Encoder_t) and the head;
* multiply-adds of one image, counted by mmengine's ``FlopAnalyzer`` on the
  backbone's 2048 x 14 x 14 map (ResNet-101 at 448), with a handle for
  ``embedding_bag`` (the sparse co-occurrence message, which the counter
  does not know: indices x row width);
* CPU time of one forward pass of one image: process CPU time (all
  ``--threads`` threads together), ``torch.inference_mode``, median of
  ``--runs`` passes after one warm-up; CPU time rather than wall time, as
  the steadier figure on a shared machine;
* peak memory of one training step at batch 2 (forward, both losses,
  backward, AdamW step) and its CPU time: the peak resident set (Linux ``VmHWM``) of a fresh
  process that builds the neck and head and runs the step, so weights,
  gradients, optimizer states and activations are all in it (the Python,
  torch and mmpretrain runtime alone is about 0.5 GB).

Every measurement runs in its own process, watched by this one: a process
whose resident memory passes ``--max-memory-gb`` or that runs longer than
``--timeout`` seconds is stopped and reported as "did not fit" or "over N
s"; what a stopped process finished (parameters first, then time, then
multiply-adds) is still reported. ``--full-model`` also runs one training step of the whole
``oprl_r101_openimages448`` model (ResNet-101 included, batch 2 at 448)::

    python tools/analysis_tools/large_vocab_cost.py \
        --classes 80 500 1000 5000 9605 --full-model \
        --json work_dirs/large_vocab_cost.json
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time

from oprl_mm.utils import memory_mb, timed, wall_times

FAITHFUL_CONFIG = 'configs/oprl/oprl_r101_coco448.py'
LINEAR_CONFIG = 'configs/oprl/oprl_r101_openimages448.py'
LINEAR_OPTIONS = ('embed_dims', 'cooccurrences_per_class',
                  'brrm_c_hidden_dims')
FEAT_SHAPE = (2048, 14, 14)  # ResNet-101's last map at 448 x 448


def parse_args():
    parser = argparse.ArgumentParser(
        description='Neck + head cost of OPRL against the number of classes')
    parser.add_argument(
        '--classes', type=int, nargs='+', default=[80, 500, 1000, 5000, 9605])
    parser.add_argument(
        '--heads', nargs='+', default=['faithful', 'linear'],
        choices=['faithful', 'linear'])
    parser.add_argument('--runs', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--timeout', type=float, default=900)
    parser.add_argument('--max-memory-gb', type=float, default=16)
    parser.add_argument(
        '--full-model', action='store_true',
        help='also one training step of the whole openimages448 model')
    parser.add_argument('--json', help='write the results here')
    parser.add_argument('--worker', nargs=3, help=argparse.SUPPRESS)
    return parser.parse_args()


# ------------------------------------------------------------ worker side
def head_cfg(head: str, num_classes: int) -> dict:
    """The neck and head configs of one variant at C classes."""
    from mmengine.config import Config
    model = Config.fromfile(FAITHFUL_CONFIG).model
    neck, head_cfg = model.neck.to_dict(), model.head.to_dict()
    if head == 'linear':
        linear = Config.fromfile(LINEAR_CONFIG).model.head
        head_cfg.update({k: linear[k] for k in LINEAR_OPTIONS})
        head_cfg['cooccurrences_per_class'] = min(
            head_cfg['cooccurrences_per_class'], num_classes - 1)
    head_cfg['num_classes'] = num_classes
    return dict(neck=neck, head=head_cfg)


def build_neck_head(head: str, num_classes: int):
    import torch.nn as nn
    from mmpretrain.registry import MODELS

    import oprl_mm  # noqa: F401

    cfgs = head_cfg(head, num_classes)

    class NeckHead(nn.Module):

        def __init__(self):
            super().__init__()
            self.neck = MODELS.build(cfgs['neck'])
            self.head = MODELS.build(cfgs['head'])

        def forward(self, feat):
            return self.head(self.neck((feat, )))

    return NeckHead()


def embedding_bag_flop_jit(inputs, outputs):
    """Multiply-adds of a weighted ``embedding_bag``: indices x row width."""
    from mmengine.analysis.jit_handles import get_shape
    weight, indices = get_shape(inputs[0]), get_shape(inputs[1])
    count = weight[-1]
    for n in indices:
        count *= n
    return count


def measure_cost(head: str, num_classes: int, runs: int) -> None:
    """Print parameters, then CPU time, then multiply-adds, each as soon as
    it is known (a stopped process still reports what it finished)."""
    import torch
    from mmengine.analysis import FlopAnalyzer, parameter_count
    model = build_neck_head(head, num_classes).eval()
    report(params=parameter_count(model)[''])
    feat = torch.randn(1, *FEAT_SHAPE)
    with torch.inference_mode():
        times = wall_times(
            lambda: model(feat), runs, warmup=1, clock=time.process_time)[0]
    report(cpu_ms=1000 * statistics.median(times))
    analyzer = FlopAnalyzer(model, (feat, ))
    analyzer.set_op_handle('aten::embedding_bag', embedding_bag_flop_jit)
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    report(
        macs=analyzer.total(),
        macs_by_module={
            k: v for k, v in analyzer.by_module().items()
            if k.count('.') == 1
        },
        unsupported_ops=dict(analyzer.unsupported_ops()))


def report(**values) -> None:
    print('RESULT ' + json.dumps(values), flush=True)


def measure_step(head: str, num_classes: int) -> dict:
    """Peak memory and time of one training step at batch 2."""
    import torch
    from mmpretrain.structures import DataSample
    if head == 'full':
        from mmengine.config import Config
        from mmpretrain.registry import MODELS

        import oprl_mm  # noqa: F401
        cfg = Config.fromfile(LINEAR_CONFIG).model
        cfg.backbone.init_cfg = None
        model = MODELS.build(cfg)
        inputs = torch.randn(2, 3, 448, 448)
        num_classes = cfg.head.num_classes
    else:
        model = build_neck_head(head, num_classes)
        inputs = torch.randn(2, *FEAT_SHAPE)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    labels = [torch.tensor([0, num_classes - 1]), torch.tensor([1])]
    samples = [DataSample().set_gt_label(lab) for lab in labels]
    def step():
        if head == 'full':
            losses = model(inputs, samples, mode='loss')
        else:
            losses = model.head.loss(model.neck((inputs, )), samples)
        sum(losses.values()).backward()
        optimizer.step()
        optimizer.zero_grad()

    before_mb = memory_mb('VmRSS')
    step_s = timed(step, clock=time.process_time)[0]
    return dict(
        step_s=step_s,
        rss_before_step_mb=before_mb,
        peak_mb=memory_mb('VmHWM'))


def worker(mode: str, head: str, num_classes: str) -> None:
    import torch
    torch.set_num_threads(int(os.environ.get('OPRL_COST_THREADS', '2')))
    torch.manual_seed(0)
    if mode == 'cost':
        measure_cost(head, int(num_classes),
                     int(os.environ.get('OPRL_COST_RUNS', '1')))
    else:
        report(**measure_step(head, int(num_classes)))


# ------------------------------------------------------------ parent side
def _rss_gb(pid: int) -> float:
    return sum(memory_mb('VmRSS', p) or 0
               for p in [pid] + _children(pid)) / 1024


def _children(pid: int) -> list:
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def run_worker(args, mode: str, head: str, num_classes: int) -> dict:
    env = dict(os.environ, OPRL_COST_THREADS=str(args.threads),
               OPRL_COST_RUNS=str(args.runs))
    cmd = [sys.executable, __file__, '--worker', mode, head, str(num_classes)]
    out_file = tempfile.TemporaryFile('w+')
    proc = subprocess.Popen(
        cmd, stdout=out_file, stderr=subprocess.STDOUT, text=True, env=env)
    start, peak, stopped = time.time(), 0.0, None
    while proc.poll() is None:
        peak = max(peak, _rss_gb(proc.pid))
        if peak > args.max_memory_gb:
            stopped = f'did not fit (over {args.max_memory_gb:g} GB)'
        elif time.time() - start > args.timeout:
            stopped = f'over {args.timeout:.0f} s'
        if stopped:
            proc.kill()
            proc.wait()
            break
        time.sleep(0.2)
    out_file.seek(0)
    output = out_file.read()
    result = {}
    for line in output.splitlines():
        if line.startswith('RESULT '):
            result.update(json.loads(line[len('RESULT '):]))
    if stopped:
        result['error'] = stopped
    elif proc.returncode:
        result['error'] = 'failed: ' + output[-2000:]
    return result


def fmt_row(num_classes: int, head: str, cost: dict, step: dict) -> str:
    missing = cost.get('error', 'not measured')
    cells = [
        f'{cost["params"] / 1e6:.1f} M' if 'params' in cost else missing,
        f'{cost["macs"] / 1e9:.1f}' if 'macs' in cost else missing,
        f'{cost["cpu_ms"]:,.0f}' if 'cpu_ms' in cost else missing,
        step['error'] if 'error' in step else
        f'{step["peak_mb"] / 1024:.2f} GB ({step["step_s"]:.1f} s)'
    ]
    return f'| {num_classes:,} | {head} | ' + ' | '.join(cells) + ' |'


def main():
    args = parse_args()
    if args.worker:
        worker(*args.worker)
        return
    results, rows = [], []
    for num_classes in args.classes:
        for head in args.heads:
            cost = run_worker(args, 'cost', head, num_classes)
            step = run_worker(args, 'step', head, num_classes) \
                if 'error' not in cost else dict(error='not run')
            results.append(
                dict(classes=num_classes, head=head, cost=cost, step=step))
            rows.append(fmt_row(num_classes, head, cost, step))
            print(rows[-1], flush=True)
    if args.full_model:
        full = run_worker(args, 'step', 'full', 0)
        results.append(dict(full_model_step=full))
        print('full oprl_r101_openimages448 training step, batch 2 at 448:',
              json.dumps(full), flush=True)
    header = ('| classes C | head | neck + head params | neck + head G MACs '
              '| CPU ms/img | training step, batch 2: peak memory (CPU time)'
              ' |\n'
              '|---|---|---|---|---|---|')
    print(header + '\n' + '\n'.join(rows))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(dict(args=vars(args), results=results), f, indent=1)


if __name__ == '__main__':
    main()
