"""``renamed_arguments``: an old argument name fails naming the new one."""
import pytest
from mmengine.registry import Registry

from oprl_mm.renamed import renamed_arguments


class Widget:

    @renamed_arguments(old_width='width', keep_empty='filter_empty_gt=False')
    def __init__(self, width: int = 1):
        self.width = width


def test_new_name_works_and_signature_is_kept():
    import inspect
    assert Widget(width=3).width == 3
    assert Widget(4).width == 4
    assert list(inspect.signature(Widget).parameters) == ['width']


@pytest.mark.parametrize('old, new', [('old_width', 'width'),
                                      ('keep_empty', 'filter_empty_gt=False')])
def test_old_name_names_its_replacement(old, new):
    with pytest.raises(TypeError, match=f'Widget: `{old}` was renamed; '
                       f'pass {new} instead'):
        Widget(**{old: 1})


def test_message_survives_a_registry_build():
    registry = Registry('widgets')
    registry.register_module(module=Widget)
    with pytest.raises(TypeError, match='pass width instead'):
        registry.build(dict(type='Widget', old_width=2))
