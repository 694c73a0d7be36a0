"""What the tools share: the config loader and the start and end of a
distributed run (the gloo process group of a CPU run included).

Moved here from ``oprl_mm/engine/runner_setup.py``: process start belongs
to the tools."""
import copy
import datetime
import gc
import os
import os.path as osp
import signal
import sys
import threading
import time
from typing import Optional, Union

import torch
import torch.distributed as dist
from mmengine.config import Config


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """The one config loader of the tools.

    Args:
        config (str | Config): a config file, or a ``Config`` (copied).
        cfg_options (dict, optional): ``--cfg-options`` merged into it.
        work_dir (str, optional): the work dir; by default the config's own,
            else ``./work_dirs/<config name>``.
    """
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, (str, os.PathLike)):
        config = str(config)
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {config!r} does not exist')
        cfg = Config.fromfile(config)
    else:
        raise TypeError('config must be a config path or an mmengine Config, '
                        f'got {type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    _drop_timeout_without_workers(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(cfg.filename or 'config'))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    return cfg


def _drop_timeout_without_workers(cfg: Config) -> None:
    """A dataloader's ``timeout`` guards its worker processes; torch refuses
    it without workers, so ``num_workers=0`` (debugging) drops it."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if loader and not loader.get('num_workers') and 'timeout' in loader:
            loader.pop('timeout')


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` for ``launcher``, on GPUs and on CPU-only machines.

    On GPUs nothing changes: mmengine's launcher starts NCCL. Without CUDA,
    mmengine's ``pytorch`` launcher would call ``torch.cuda.set_device``;
    so the gloo process group is started here, before the Runner, which then
    finds it initialised. The launcher stays 'pytorch' so that the model is
    still wrapped in DDP (gradients synchronised), with ``device_ids=None``
    as DDP wants on CPU. SyncBatchNorm is GPU-only and is not used.
    """
    cfg.launcher = launcher
    if launcher != 'none':
        exit_with_launcher()
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise RuntimeError(
            f'launcher {launcher!r} needs GPUs; on a CPU-only machine use '
            'tools/dist_train.sh (torchrun, launcher pytorch)')
    if not dist.is_initialized():
        dist.init_process_group(
            backend='gloo', timeout=process_group_timeout(cfg))
    cfg.env_cfg = cfg.get('env_cfg', {})
    cfg.env_cfg.setdefault('dist_cfg', {})
    cfg.env_cfg['dist_cfg']['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    os.environ.setdefault('LOCAL_RANK', '0')


def process_group_timeout(cfg: Config) -> Optional[datetime.timedelta]:
    """``env_cfg.dist_cfg.timeout`` (seconds) as the process group wants it.

    mmengine passes the same key to the NCCL group it starts on GPUs; here it
    applies to the gloo group of a CPU run. None: torch's default (30 min).
    """
    seconds = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout')
    return None if seconds is None else datetime.timedelta(seconds=seconds)


def collective_timeout_message(err: BaseException) -> Optional[str]:
    """A message naming this rank for a collective that timed out (a stalled
    or dead peer), or None when ``err`` is something else.

    NCCL's watchdog names the rank itself; gloo says only "Timed out waiting
    Nms for recv operation".
    """
    text = str(err)
    gloo = 'Timed out waiting' in text
    nccl = (isinstance(err, getattr(dist, 'DistBackendError', ()))
            and 'timeout' in text.lower())
    if not (gloo or nccl):
        return None
    rank = os.environ.get('RANK', '?')
    world = os.environ.get('WORLD_SIZE', '?')
    return (f'rank {rank} of {world}: a collective operation got no answer '
            'within the process-group timeout (env_cfg.dist_cfg.timeout, in '
            'seconds): another rank stalled or died. The job stops; resume it '
            f'with --resume. ({text.splitlines()[0]})')


def exit_after_collective_timeout(message: str, status: int = 1) -> None:
    """Print ``message`` and leave the process at once with ``status``.

    After a collective timed out, the process group still holds the failed
    operation: destroying it at interpreter exit can abort the process
    (SIGABRT in gloo's C++ teardown) after the message, which turns the exit
    status into -6 now and then. The streams are flushed and the process
    leaves without running that teardown.
    """
    print(message, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def exit_with_launcher(interval: float = 2.0) -> threading.Thread:
    """Stop this process when the process that launched it dies.

    A rank whose ``torchrun`` agent (or other launcher) is killed is
    re-parented and would go on training, an orphan writing into the same
    work dir. A daemon thread checks the parent pid every ``interval``
    seconds; when it changes, it prints one line and sends this process
    SIGTERM (``PreemptionHook`` then saves a checkpoint and stops; before
    training starts, SIGTERM ends the process).
    """
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        print(f'rank {os.environ.get("RANK", "?")}: the launcher (pid '
              f'{parent}) is gone; stopping.', file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name='launcher-watch',
                              daemon=True)
    thread.start()
    return thread


def teardown_distributed() -> None:
    """End a distributed run cleanly: wait for every rank, destroy the
    process group and free it before the interpreter exits.

    The caller drops its Runner first: the DDP-wrapped model holds the
    process group, and a gloo group still alive at interpreter exit keeps
    its worker threads running into C++ static destruction, which aborts
    the process now and then (``terminate called without an active
    exception``, SIGABRT) after every result was written. A no-op outside a
    distributed run.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
        gc.collect()


def enable_auto_scale_lr(cfg: Config) -> float:
    """Scale the learning rate with the real total batch size.

    mmengine's ``auto_scale_lr`` scales the optimizer's lr by real batch /
    ``base_batch_size``; a one-cycle schedule then resets the lr from its own
    ``eta_max``, so ``eta_max`` is scaled by the same factor here.

    Returns:
        float: the factor.
    """
    base = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
    if base is None:
        raise KeyError(
            '--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=N)` '
            'in the config: the total batch size its learning rate is for')
    world = int(
        os.environ.get('WORLD_SIZE', os.environ.get('SLURM_NTASKS', 1)))
    accumulate = cfg.optim_wrapper.get('accumulative_counts', 1)
    factor = cfg.train_dataloader.batch_size * world * accumulate / base
    cfg.auto_scale_lr.enable = True
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for scheduler in schedulers:
        if 'eta_max' in scheduler:
            scheduler['eta_max'] *= factor
    return factor


def _dataset_files(dataset) -> str:
    """Where a dataset read its samples from, for messages."""
    while not hasattr(dataset, 'ann_file') and hasattr(dataset, 'dataset'):
        dataset = dataset.dataset  # RepeatDataset, ClassBalancedDataset ...
    where = [
        f'{key} {getattr(dataset, key)!r}'
        for key in ('ann_file', 'data_root', 'split')
        if getattr(dataset, key, None)
    ]
    return f'{type(dataset).__name__} (' + ', '.join(where) + ')'


def check_train_set(runner) -> None:
    """Raise :class:`ValueError` if the training set holds no sample.

    Building the training loop here, before ``runner.train()``, turns
    mmengine's ``epoch_length must be a positive integer`` (raised while it
    builds the schedulers, before any hook) into an error that names the
    dataset and its files. The loop is built once: ``runner.train()`` reuses
    it.
    """
    loop = runner.train_loop
    dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
    if dataset is None or len(dataset) > 0:
        return
    raise ValueError(
        f'the training set {_dataset_files(dataset)} holds no image: check '
        'data_root and ann_file, the class selection (metainfo/classes), and '
        'filter_cfg.filter_empty_gt=True, which drops images without a label '
        'of the selected classes')
