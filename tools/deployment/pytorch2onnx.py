"""Export a checkpoint to ONNX, and check it in onnxruntime.

The graph takes ``input``, the B x 3 x H x W float batch after the data
preprocessor (resized, BGR -> RGB, ``(x - mean) / std``; see
docs/deploy.md), with a dynamic batch axis, and gives ``scores``, the
B x C sigmoid probabilities::

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT \
        --out model.onnx --verify

``--img-size`` defaults to the test pipeline's size; it must be a multiple
of the backbone's stride (32 for a ResNet), at least the stride. The
checkpoint must fit the config exactly (missing, unexpected or wrong-shaped
keys are an error naming them). Without CHECKPOINT the
weights are random (for checking that a config exports). ``--verify`` runs the
exported graph in onnxruntime on random input at batch 1 and 2 and fails
(exit status 1) if any score differs from PyTorch's by more than
``--atol`` (1e-4). Needs the deploy extra: ``pip install -e ".[deploy]"``.
"""
import argparse
import os
import os.path as osp
import sys

# tools/ holds oprl_cli, the tools' shared command-line plumbing
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from oprl_cli.args import add_model_args  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(
        description='Export a multi-label classifier to ONNX')
    add_model_args(parser, checkpoint='optional', device=False)
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--img-size',
        type=int,
        default=None,
        help='H = W of the input (default: the test pipeline\'s)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='compare onnxruntime with PyTorch at batch 1 and 2')
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-4,
        help='largest score difference --verify accepts (default 1e-4)')
    return parser.parse_args()


def image_size(args, cfg):
    from oprl_mm.apis.deploy import config_img_size

    size = args.img_size if args.img_size is not None else \
        config_img_size(cfg)
    if size is None:
        sys.exit('error: the test pipeline does not say the image size: '
                 'pass --img-size')
    return size


def main():
    args = parse_args()
    from oprl_cli.args import config_from_args
    from oprl_mm.apis.deploy import (check_export_size, config_img_size,
                                     export_onnx, verify_onnx)
    from oprl_mm.apis.inferencer import load_model
    from oprl_mm.utils import timed

    cfg = config_from_args(args)
    model = load_model(cfg, args.checkpoint, 'cpu')
    size = image_size(args, cfg)
    try:
        check_export_size(model, size, probe_size=config_img_size(cfg))
    except ValueError as e:
        sys.exit(f'error: --img-size: {e}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    seconds, _ = timed(lambda: export_onnx(
        model, args.out, size, args.opset,
        classes=model.dataset_meta.get('classes')))
    print(f'exported {args.out} ({osp.getsize(args.out) / 2**20:.1f} MiB, '
          f'input 3 x {size} x {size}, opset {args.opset}) in '
          f'{seconds:.1f} s')
    if args.verify:
        try:
            diffs = verify_onnx(model, args.out, size, (1, 2), args.atol)
        except AssertionError as e:
            sys.exit(f'verify failed: {e}')
        shown = ', '.join(f'batch {b}: {d:.2e}' for b, d in diffs.items())
        print(f'verified in onnxruntime: largest score difference {shown} '
              f'(<= {args.atol:g})')


if __name__ == '__main__':
    main()
