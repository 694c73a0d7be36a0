"""Latency of a model in PyTorch and in onnxruntime, on CPU.

Times the same random normalised batch through ``ScoresModel`` (PyTorch,
eager, ``torch.inference_mode``) and through the exported graph
(onnxruntime's CPU provider), both with ``--threads`` threads, and prints
the median and fastest time per batch::

    python tools/deployment/onnx_latency.py CONFIG [CHECKPOINT] \
        --onnx model.onnx --batch-sizes 1 8 --json latency.json

Without ``--onnx`` the model is exported to a temporary file first. The
load average before and after is printed too: figures taken while other
work ran on the machine are slower than on an idle one.
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import tempfile

# tools/ holds oprl_cli, the tools' shared command-line plumbing
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from oprl_cli.args import add_model_args  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(
        description='PyTorch vs onnxruntime latency on CPU')
    add_model_args(parser, checkpoint='optional', device=False)
    parser.add_argument('--onnx', help='exported graph (default: export)')
    parser.add_argument('--img-size', type=int, default=None)
    parser.add_argument(
        '--batch-sizes', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument(
        '--threads', type=int, default=None,
        help='intra-op threads of both (default: torch\'s)')
    parser.add_argument('--json', help='write the figures to this file')
    return parser.parse_args()


def time_batch(wrapper, session, batch, size, args):
    """(PyTorch, onnxruntime) (median, fastest) seconds for one batch."""
    import torch

    from oprl_mm.apis.deploy import latency

    inputs = torch.randn(batch, 3, size, size)
    feed = {'input': inputs.numpy()}

    def torch_run():
        with torch.inference_mode():
            wrapper(inputs)

    return (latency(torch_run, args.warmup, args.runs),
            latency(lambda: session.run(['scores'], feed), args.warmup,
                    args.runs))


def measure(args, model, onnx_file, size):
    import torch

    from oprl_mm.apis.deploy import ScoresModel, onnx_session

    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    wrapper = ScoresModel(model).eval()
    session = onnx_session(onnx_file, threads)
    rows = []
    for batch in args.batch_sizes:
        (pt, pt_min), (ort, ort_min) = time_batch(wrapper, session, batch,
                                                  size, args)
        rows.append(
            dict(
                batch=batch,
                pytorch_ms=pt * 1e3,
                pytorch_min_ms=pt_min * 1e3,
                onnxruntime_ms=ort * 1e3,
                onnxruntime_min_ms=ort_min * 1e3,
                speedup=pt / ort))
    return rows, threads


def print_rows(args, rows, size, threads, load):
    print(f'{osp.basename(args.config)}, {size} x {size}, {threads} threads,'
          f' median (fastest) of {args.runs} runs, ms per batch; load '
          f'average {load[0]:.2f} before, {load[1]:.2f} after')
    print('| batch | PyTorch | onnxruntime | speed-up |')
    print('|---|---|---|---|')
    for r in rows:
        print(f'| {r["batch"]} | {r["pytorch_ms"]:.1f} '
              f'({r["pytorch_min_ms"]:.1f}) | {r["onnxruntime_ms"]:.1f} '
              f'({r["onnxruntime_min_ms"]:.1f}) | {r["speedup"]:.2f}x |')


def main():
    args = parse_args()
    import onnxruntime
    import torch

    from oprl_cli.args import config_from_args
    from oprl_mm.apis.deploy import config_img_size, export_onnx
    from oprl_mm.apis.inferencer import load_model

    cfg = config_from_args(args)
    model = load_model(cfg, getattr(args, 'checkpoint', None), 'cpu')
    size = args.img_size or config_img_size(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = args.onnx or export_onnx(
            model, osp.join(tmp, 'model.onnx'), size)
        before = os.getloadavg()[0]
        rows, threads = measure(args, model, onnx_file, size)
        load = (before, os.getloadavg()[0])
    print_rows(args, rows, size, threads, load)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                dict(config=args.config, img_size=size, threads=threads,
                     runs=args.runs, load_average=load, rows=rows,
                     torch=torch.__version__,
                     onnxruntime=onnxruntime.__version__,
                     cpu=platform.processor() or platform.machine(),
                     cpu_count=os.cpu_count()), f, indent=1)


if __name__ == '__main__':
    main()
