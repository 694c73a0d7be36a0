"""A hook for the distributed tests: every rank saves its initial (rank 0)
and final weights."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def _state(runner):
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    return model.state_dict()


@HOOKS.register_module()
class RankDumpHook(Hook):

    def before_train(self, runner):
        if get_rank() == 0:
            torch.save(_state(runner), osp.join(runner.work_dir, 'init.pth'))

    def after_train(self, runner):
        torch.save(_state(runner),
                   osp.join(runner.work_dir, f'rank{get_rank()}.pth'))
