"""Time writing one full training checkpoint of a config, in place (mmengine's
local backend) and atomically (``atomic_local``: temporary file, fsync,
rename), on the disk of ``--out-dir``.

    python tools/analysis_tools/checkpoint_write_time.py \
        configs/oprl/oprl_r101_coco448.py --out-dir /tmp/ckpt_time --repeat 3

The checkpoint holds what a training one does: the weights, AdamW's state
(two moments a parameter) and the EMA copy of the weights. It is serialised
once (``torch.save`` into memory, as mmengine does) and only the file write
is timed. The folder is removed afterwards.
"""
import argparse
import copy
import io
import os
import shutil
import os.path as osp
import statistics
import sys

import torch
from mmengine.fileio import LocalBackend
from mmpretrain.registry import MODELS, OPTIMIZERS

from oprl_mm.engine.hooks.atomic_checkpoint_hook import AtomicLocalBackend
# tools/ holds oprl_cli, the tools' shared command-line plumbing
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from oprl_cli.launch import load_config  # noqa: E402
from oprl_mm.utils import timed  # noqa: E402


def training_checkpoint(config: str) -> bytes:
    cfg = load_config(config)
    cfg.model.backbone.init_cfg = None  # no download: sizes are what count
    model = MODELS.build(cfg.model)
    optimizer = OPTIMIZERS.build(
        dict(cfg.optim_wrapper.optimizer, params=model.parameters()))
    for param in model.parameters():
        param.grad = torch.zeros_like(param)
    optimizer.step()  # AdamW's moments exist from the first step on
    state = model.state_dict()
    checkpoint = dict(
        state_dict=state,
        optimizer=optimizer.state_dict(),
        ema_state_dict=copy.deepcopy(state))
    with io.BytesIO() as f:
        torch.save(checkpoint, f)
        return f.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--out-dir', required=True,
                        help='a new folder on the disk to measure')
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    data = training_checkpoint(args.config)
    os.makedirs(args.out_dir, exist_ok=False)
    times = {'in place': [], 'atomic': []}
    try:
        for _ in range(args.repeat):
            for name, backend in (('in place', LocalBackend()),
                                  ('atomic', AtomicLocalBackend())):
                path = os.path.join(args.out_dir, 'epoch_1.pth')
                times[name].append(
                    timed(lambda: backend.put(data, path))[0])
                os.remove(path)
    finally:
        shutil.rmtree(args.out_dir)
    print(f'checkpoint: {len(data) / 2**30:.2f} GiB')
    for name, values in times.items():
        print(f'{name:9s} median {statistics.median(values):.2f} s  '
              f'({", ".join(f"{v:.2f}" for v in values)})')


if __name__ == '__main__':
    main()
