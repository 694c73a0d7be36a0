"""Loading a checkpoint that must fit the model exactly.

Evaluation and inference load with :func:`load_checkpoint_strict`: a key the
model has and the checkpoint lacks, a key the checkpoint has and the model
lacks, or a tensor of another shape is an error that names the keys and the
likely cause (another config, another class count, a checkpoint saved
without SAPM's co-occurrence statistics). mmengine's ``load_checkpoint``
only logs these and goes on with the model's initial values: random
classifier rows, or the identity matrix in place of the co-occurrence
matrix, which changes every prediction without a word.

Training's ``load_from`` keeps mmengine's lenient loading (fine-tuning on
another class count needs it); mmengine logs what it skipped there.

A file that is not a PyTorch checkpoint (empty, truncated, text, an image)
is named as such instead of failing with ``EOFError`` or ``Unsupported
operand``. The file is read by ``torch.load(weights_only=True)`` with
oprl_mm's allowlist (:mod:`oprl_mm.engine.safe_load`).
"""
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch
from mmengine.model import is_model_wrapper
from torch import nn

# buffers of SAPM that hold statistics of the training labels
SAPM_BUFFERS = ('cooccurrence', 'average', 'neighbour_index',
                'neighbour_weight', 'self_weight')
# keys shown per kind of mismatch
SHOWN = 8


class CheckpointMismatchError(RuntimeError):
    """A checkpoint whose keys or shapes do not fit the model.

    Attributes:
        path (str): the checkpoint file.
        missing (list[str]): keys of the model the checkpoint lacks.
        unexpected (list[str]): keys of the checkpoint the model lacks.
        wrong_shape (dict): ``{key: (checkpoint shape, model shape)}``.
    """

    def __init__(self, message: str, path: str, missing: List[str],
                 unexpected: List[str], wrong_shape: Dict[str, Tuple[tuple,
                                                                     tuple]]):
        super().__init__(message)
        self.path = path
        self.missing = missing
        self.unexpected = unexpected
        self.wrong_shape = wrong_shape


def read_checkpoint(path: str, map_location='cpu') -> dict:
    """The content of a checkpoint file, a dict.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: the file is empty or not a PyTorch checkpoint.
        pickle.UnpicklingError: the checkpoint holds objects that the
            allowlist refuses (re-raised, naming the file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {osp.abspath(path)} does not '
                                'exist')
    if osp.getsize(path) == 0:
        raise ValueError(f'checkpoint {osp.abspath(path)} is an empty file, '
                         'not a checkpoint (an interrupted copy or save?)')
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if 'Unsupported global' in str(e) or 'checkpoint refused' in str(e):
            raise pickle.UnpicklingError(
                f'checkpoint {osp.abspath(path)} refused: {e}') from None
        raise _not_a_checkpoint(path, e) from None
    except (EOFError, KeyError, RuntimeError, ValueError, OSError,
            AttributeError, IndexError, TypeError) as e:
        raise _not_a_checkpoint(path, e) from None
    if not isinstance(ckpt, dict) or not isinstance(
            ckpt.get('state_dict', ckpt), dict):
        raise ValueError(
            f'{osp.abspath(path)} is not a checkpoint: it holds a '
            f'{type(ckpt).__name__}, not a dict of tensors (a state_dict, or '
            'a dict with "state_dict")')
    return ckpt


def _not_a_checkpoint(path: str, error: Exception) -> ValueError:
    first = str(error).strip().splitlines()[0][:160] if str(error) else ''
    return ValueError(
        f'{osp.abspath(path)} is not a PyTorch checkpoint, or is truncated '
        f'or corrupt ({type(error).__name__}: {first}). Give the .pth file '
        'that training wrote (work_dirs/<config>/epoch_N.pth or best_*.pth)')


def model_state_dict(checkpoint: dict) -> 'OrderedDict[str, torch.Tensor]':
    """The model weights of a checkpoint, without DDP's ``module.``
    prefix."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    return OrderedDict(
        (re.sub(r'^module\.', '', k), v) for k, v in state_dict.items())


def state_dict_mismatch(
    model: nn.Module, state_dict: dict
) -> Tuple[List[str], List[str], Dict[str, Tuple[tuple, tuple]]]:
    """Keys missing from and unexpected in ``state_dict``, and the keys of
    another shape, compared with ``model.state_dict()``. BatchNorm's
    ``num_batches_tracked`` counters are ignored, as mmengine does."""
    own = model.state_dict()
    missing = [
        k for k in own
        if k not in state_dict and not k.endswith('num_batches_tracked')
    ]
    unexpected = [
        k for k in state_dict
        if k not in own and not k.endswith('num_batches_tracked')
    ]
    wrong_shape = {
        k: (tuple(v.shape), tuple(own[k].shape))
        for k, v in state_dict.items()
        if k in own and isinstance(v, torch.Tensor) and v.shape != own[k].shape
    }
    return missing, unexpected, wrong_shape


def shown_keys(keys) -> str:
    keys = list(keys)
    more = f', ... {len(keys) - SHOWN} more' if len(keys) > SHOWN else ''
    return ', '.join(keys[:SHOWN]) + more


def _likely_cause(model: nn.Module, missing: List[str], unexpected: List[str],
                  wrong_shape: Dict[str, Tuple[tuple, tuple]]) -> str:
    """What most probably made the checkpoint not fit, in words."""
    causes = []
    num_classes = getattr(getattr(model, 'head', None), 'num_classes', None)
    if num_classes is not None and wrong_shape:
        other = {
            c
            for ck, mk in wrong_shape.values()
            for c, m in zip(ck, mk) if m == num_classes and c != m
        }
        if other:
            causes.append(
                f'another class count: the checkpoint has '
                f'{sorted(other)[0]} classes, the config {num_classes}; use '
                'the config the checkpoint was trained with (or set '
                'num_classes and the dataset classes to match it)')
    sapm = [k for k in missing if k.rsplit('.', 1)[-1] in SAPM_BUFFERS]
    if sapm:
        causes.append(
            'no SAPM co-occurrence statistics: the checkpoint was saved '
            'without them (an older or hand-made checkpoint); predicting '
            'with the initial identity matrix would change every label. Use '
            'a checkpoint that training saved (CooccurrenceHook fills them)')
    if not causes:
        causes.append(
            'another config: the checkpoint comes from another model '
            '(another backbone, width, depth, neck or head settings); use '
            'the config it was trained with')
    return '; '.join(causes)


def check_state_dict_fits(model: nn.Module, state_dict: dict,
                          path: str) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state_dict`` has
    exactly the keys and shapes of ``model``."""
    missing, unexpected, wrong_shape = state_dict_mismatch(model, state_dict)
    if not (missing or unexpected or wrong_shape):
        return
    lines = [
        f'checkpoint {osp.abspath(path)} does not fit the model of '
        'this config.'
    ]
    if wrong_shape:
        lines.append('  wrong shape (checkpoint vs model): ' +
                     shown_keys(f'{k} {tuple(c)} vs {tuple(m)}'
                                for k, (c, m) in wrong_shape.items()))
    if missing:
        lines.append('  missing from the checkpoint: ' + shown_keys(missing))
    if unexpected:
        lines.append('  not in the model: ' + shown_keys(unexpected))
    lines.append('Likely cause: ' +
                 _likely_cause(model, missing, unexpected, wrong_shape) + '.')
    raise CheckpointMismatchError('\n'.join(lines), path, missing, unexpected,
                                  wrong_shape)


def load_checkpoint_strict(model: nn.Module,
                           path: str,
                           map_location='cpu') -> dict:
    """Load a checkpoint into ``model`` (or the model a wrapper holds) only
    if it fits exactly; return the checkpoint dict.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a checkpoint (see :func:`read_checkpoint`).
        CheckpointMismatchError: missing, unexpected or wrong-shaped keys,
            named with the likely cause.
    """
    if is_model_wrapper(model):
        model = model.module
    checkpoint = read_checkpoint(path, map_location)
    state_dict = model_state_dict(checkpoint)
    check_state_dict_fits(model, state_dict, path)
    model.load_state_dict(state_dict, strict=False)  # num_batches_tracked
    return checkpoint


def runner_load_strict(runner, path: str) -> dict:
    """Load a checkpoint into a Runner's model only if it fits exactly, as
    ``Runner.load_checkpoint`` does otherwise (``after_load_checkpoint``
    hooks are called first); return the checkpoint dict.

    For evaluation: the runner's config must have ``load_from`` unset and
    ``resume`` off, else ``runner.test()`` (``Runner.load_or_resume``)
    would load a checkpoint again, leniently, over this one.

    Raises:
        ValueError: the runner's config sets ``load_from`` or ``resume``.
    """
    for key in ('load_from', 'resume'):
        if runner.cfg.get(key):
            raise ValueError(
                f'runner_load_strict: the config sets {key}='
                f'{runner.cfg.get(key)!r}, so runner.test() would load a '
                'checkpoint again, leniently, over the strict one: set '
                'cfg.load_from = None and cfg.resume = False before '
                'building the Runner')
    checkpoint = read_checkpoint(path)
    runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    state_dict = model_state_dict(checkpoint)
    check_state_dict_fits(model, state_dict, path)
    model.load_state_dict(state_dict, strict=False)
    runner.logger.info(f'Loaded checkpoint {path} (every key and shape '
                       'matches the model)')
    return checkpoint
