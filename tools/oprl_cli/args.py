"""What the command-line tools share: the model arguments, the one
``--thr`` parser and the model loading from an ``args`` namespace.

Moved here from ``oprl_mm/apis/cli.py``: argparse belongs to the tools."""
import argparse
import os
import os.path as osp
from typing import Optional, Union

from mmengine.config import DictAction

from oprl_mm.apis.inferencer import MultiLabelInferencer, load_model

from .launch import load_config


def parse_thr(value: str) -> Union[float, str]:
    """``--thr``: one number for every class, or a thresholds JSON file
    written by ``tools/analysis_tools/calibrate_thresholds.py``."""
    try:
        return float(value)
    except ValueError:
        pass
    if not osp.isfile(value):
        raise argparse.ArgumentTypeError(
            f'{value!r} is neither a number nor a thresholds file')
    return value


def check_output_file(path: Optional[str], option: str) -> None:
    """Check, before any work, that ``path`` can be written as a file.

    Its folder is created if missing. A path that is a folder, lies under
    a file, or cannot be created or written is an error naming the option
    and the path, raised before a long run instead of after it.

    Args:
        path (str, optional): the output file; None checks nothing.
        option (str): the option that gave it, e.g. ``'--out'``.
    """
    if not path:
        return
    full = osp.abspath(path)
    if osp.isdir(full):
        raise ValueError(f'{option} {full} is a folder: give a file name, '
                         f'e.g. {osp.join(path, "results.json")}')
    try:
        os.makedirs(osp.dirname(full), exist_ok=True)
        existed = osp.exists(full)
        with open(full, 'a'):
            pass
    except OSError as e:
        raise ValueError(f'{option} {full} cannot be written '
                         f'({type(e).__name__}: {e.strerror or e}): give a '
                         'path in a writable folder') from None
    if not existed:
        os.remove(full)


def add_model_args(parser: argparse.ArgumentParser,
                   checkpoint: Union[bool, str] = True,
                   thr: bool = False,
                   device: bool = True) -> argparse.ArgumentParser:
    """Add ``config``, ``checkpoint``, ``--cfg-options`` and, on request,
    ``--thr`` and ``--device`` to a tool's parser.

    Args:
        checkpoint (bool | str): True adds a required ``checkpoint``, False
            none, ``'optional'`` one that may be left out.
        thr (bool): add ``--thr`` (default: the config's
            ``model.head.thr``, the one threshold).
        device (bool): add ``--device``.
    """
    parser.add_argument('config', help='config file')
    if checkpoint == 'optional':
        parser.add_argument(
            'checkpoint', nargs='?', default=None,
            help='checkpoint file (random weights without)')
    elif checkpoint:
        parser.add_argument('checkpoint', help='checkpoint file')
    if thr:
        parser.add_argument(
            '--thr',
            type=parse_thr,
            default=None,
            help='score threshold: a number for every class, or a '
            'per-class thresholds JSON file (default: the config\'s '
            'model.head.thr, 0.5 in the shipped configs)')
    if device:
        parser.add_argument(
            '--device',
            default=None,
            help='e.g. cpu, cuda:0 (default: CUDA when available)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. '
        'test_dataloader.dataset.split=val_shift')
    return parser


def add_launcher_args(
        parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--amp``, ``--launcher`` and ``--local-rank``, as
    ``tools/train.py`` and ``tools/test.py`` (and their dist_*.sh) take them.
    """
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def config_from_args(args: argparse.Namespace, work_dir=None):
    """The config of ``args.config`` with ``args.cfg_options`` merged."""
    return load_config(args.config, args.cfg_options, work_dir)


def model_from_args(args: argparse.Namespace, device=None):
    """The model of ``args.config`` with ``args.checkpoint``'s weights."""
    return load_model(
        config_from_args(args), getattr(args, 'checkpoint', None),
        device or getattr(args, 'device', None))


def inferencer_from_args(args: argparse.Namespace,
                         **kwargs) -> MultiLabelInferencer:
    """``MultiLabelInferencer`` of ``args.config`` and ``args.checkpoint``,
    with ``args.device`` and ``args.thr`` when the tool has them."""
    return MultiLabelInferencer(
        config_from_args(args),
        getattr(args, 'checkpoint', None),
        device=getattr(args, 'device', None),
        thr=getattr(args, 'thr', None),
        **kwargs)
