"""A hook for the distributed tests: every rank saves its initial (rank 0)
and final weights, and the names of the threads still alive when the
interpreter starts to exit."""
import atexit
import json
import os
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

    def after_run(self, runner):
        path = osp.join(runner.work_dir, f'exit_threads_rank{get_rank()}.json')
        atexit.register(_dump_threads, path)


def _dump_threads(path):
    """Names of this process's OS threads (Linux: /proc/self/task)."""
    names = []
    if osp.isdir('/proc/self/task'):
        for tid in os.listdir('/proc/self/task'):
            try:
                with open(f'/proc/self/task/{tid}/comm') as f:
                    names.append(f.read().strip())
            except OSError:
                pass
    with open(path, 'w') as f:
        json.dump(names, f)
