"""Train a model from a config: ``python tools/train.py CONFIG [options]``.

On N GPUs (or N CPU processes): ``tools/dist_train.sh CONFIG N``.
"""
import argparse
import sys
import urllib.error

import torch
from mmengine.config import DictAction
from mmengine.runner import Runner

# importing oprl_mm registers its modules and the checkpoint allowlist
from oprl_mm.engine.hooks import EX_TEMPFAIL, Preempted
from oprl_mm.engine.resume import resume_config
from oprl_cli.args import add_launcher_args
from oprl_cli.launch import (check_train_set, collective_timeout_message,
                             enable_auto_scale_lr,
                             exit_after_collective_timeout, load_config,
                             setup_launcher, teardown_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a classifier')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest '
        'checkpoint of the work dir when no path is given')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate with the real total batch size')
    parser.add_argument(
        '--no-validate', action='store_true', help='skip validation')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_epochs=1')
    add_launcher_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()

    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    setup_launcher(cfg, args.launcher)
    if args.amp:
        if not torch.cuda.is_available():
            sys.exit('--amp: mixed-precision training needs a CUDA GPU, and '
                     'none is visible here; train without --amp on CPU')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    resume_config(cfg, args.resume)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None

    runner = Runner.from_cfg(cfg)
    check_train_set(runner)
    preempted = False
    try:
        runner.train()
    except urllib.error.URLError as err:
        sys.exit(
            f'Could not download pretrained weights ({err}). Point '
            'model.backbone.init_cfg.checkpoint at a local file, or train '
            'from scratch with --cfg-options model.backbone.init_cfg=None '
            'model.backbone.frozen_stages=-1 model.backbone.norm_eval=False '
            'model.backbone.norm_cfg.requires_grad=True (random weights '
            'must not stay frozen; README, "Pretrained weights").')
    except Preempted:  # a checkpoint is saved: exit "try again"
        preempted = True
    except RuntimeError as err:
        message = collective_timeout_message(err)
        if message is None:
            raise
        exit_after_collective_timeout(message)
    del runner
    teardown_distributed()
    if preempted:
        sys.exit(EX_TEMPFAIL)


if __name__ == '__main__':
    main()
