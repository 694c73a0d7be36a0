"""Stops a run whose dataset and head disagree on the number of classes."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def check_class_count(model, dataset, split: str) -> None:
    """Raise a ``ValueError`` if ``dataset``'s classes do not match the head.

    The head's ``num_classes`` is compared with ``metainfo['classes']`` of
    the dataset; a dataset without class names is not checked.
    """
    model = model.module if is_model_wrapper(model) else model
    head = getattr(model, 'head', None)
    num_classes = getattr(head, 'num_classes', None)
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if num_classes is None or classes is None:
        return
    if len(classes) != num_classes:
        raise ValueError(
            f'the {split} set ({type(dataset).__name__}) has {len(classes)} '
            f'classes but the head has num_classes={num_classes}: set '
            f'num_classes = {len(classes)} in the dataset config file, or '
            f'--cfg-options model.head.num_classes={len(classes)} '
            f'data_preprocessor.num_classes={len(classes)}, or point '
            f'{split}_dataloader at a dataset with {num_classes} classes')


@HOOKS.register_module()
class ClassCountCheckHook(Hook):
    """Check the class count of the train, val and test sets against the head.

    One place for the check, before anything runs on a split: training
    stops before its first iteration, validation and testing before their
    first batch. mmpretrain's ``ClassNumCheckHook`` asserts the same; this
    one raises an error that says which split and which setting to fix.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        self._check(runner, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')

    @staticmethod
    def _check(runner, split: str) -> None:
        # a loop run by hand (e.g. a TestLoop on another split) may leave the
        # configured one unset: there is then nothing configured to check
        if getattr(runner, f'{split}_loop') is None:
            return
        check_class_count(runner.model,
                          getattr(runner, f'{split}_dataloader').dataset,
                          split)
