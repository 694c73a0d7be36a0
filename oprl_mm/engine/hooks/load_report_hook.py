"""Logs what a lenient ``load_from`` left at the model's initial values."""
import logging

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from ..strict_load import shown_keys, model_state_dict, state_dict_mismatch


@HOOKS.register_module()
class LoadReportHook(Hook):
    """Log, in the run's log file, the keys a checkpoint loaded for training
    did not fill.

    Training's ``load_from`` keeps mmengine's lenient loading: fine-tuning
    from a checkpoint of another class count or another head must skip the
    keys that do not fit. mmengine prints the mismatch with ``print`` (not
    to the log file) and goes on; this hook writes one warning to the run's
    log that lists the keys of another shape, the missing and the unexpected
    ones, which keep the model's initial values. Evaluation and inference
    load strictly instead (:mod:`oprl_mm.engine.strict_load`).
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not isinstance(checkpoint, dict):
            return
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        missing, unexpected, wrong_shape = state_dict_mismatch(
            model, model_state_dict(checkpoint))
        if not (missing or unexpected or wrong_shape):
            return
        lines = [
            f'the checkpoint loaded for training '
            f'({runner.cfg.get("load_from")}) does not fit the model exactly; '
            'these keys keep the model\'s initial values:'
        ]
        if wrong_shape:
            lines.append('  wrong shape (checkpoint vs model): ' +
                         shown_keys(f'{k} {c} vs {m}'
                                    for k, (c, m) in wrong_shape.items()))
        if missing:
            lines.append('  missing from the checkpoint: ' +
                         shown_keys(missing))
        if unexpected:
            lines.append('  not in the model (ignored): ' +
                         shown_keys(unexpected))
        runner.logger.log(logging.WARNING, '\n'.join(lines))
