"""Stops a run whose dataset and head disagree on the number of classes."""
from mmengine.model import is_model_wrapper
from mmpretrain.engine.hooks import ClassNumCheckHook
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
class ClassCountCheckHook(ClassNumCheckHook):
    """mmpretrain's ``ClassNumCheckHook``, with what a run here needs added.

    The same check at the same events: the head's ``num_classes`` against
    the class names of the train, val and test sets, before training starts
    and before the first batch of validation and testing. What the parent
    lacks, and this subclass adds:

    * priority ``VERY_HIGH`` (the parent's is ``NORMAL``): the check runs
      before hooks that size buffers by the class count, such as
      ``CooccurrenceHook``, which would otherwise fail first with a shape
      error;
    * a ``ValueError`` that names the split and the setting to change
      (:func:`check_class_count`) instead of a bare assertion;
    * the class names are read from ``metainfo``, which mmengine's dataset
      wrappers (``ConcatDataset``, ``RepeatDataset`` ...) also carry,
      rather than mmpretrain's ``CLASSES`` attribute, which they lack;
    * a split whose loop is unset (a loop built and run by hand) is skipped
      instead of failing on the missing dataloader.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        self._check_split(runner, 'train')

    def before_val(self, runner) -> None:
        self._check_split(runner, 'val')

    def before_test(self, runner) -> None:
        self._check_split(runner, 'test')

    def _check_split(self, runner, split: str) -> None:
        if getattr(runner, f'{split}_loop') is None:
            return
        self._check_head(runner,
                         getattr(runner, f'{split}_dataloader').dataset,
                         split)

    def _check_head(self, runner, dataset, split: str = 'given') -> None:
        check_class_count(runner.model, dataset, split)
