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
            f'num_classes={len(classes)} in the dataset config (it sets '
            'model.head.num_classes and data_preprocessor.num_classes), or '
            f'point {split}_dataloader at a dataset with {num_classes} '
            'classes')


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
        check_class_count(runner.model, runner.train_dataloader.dataset,
                          'train')

    def before_val(self, runner) -> None:
        check_class_count(runner.model, runner.val_dataloader.dataset, 'val')

    def before_test(self, runner) -> None:
        check_class_count(runner.model, runner.test_dataloader.dataset,
                          'test')
