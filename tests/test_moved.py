"""Public names that moved or were removed fail with an error that names
their replacement."""
import importlib

import pytest


@pytest.mark.parametrize('module,new_place', [
    ('oprl_mm.apis.cli', 'tools/oprl_cli/args.py'),
    ('oprl_mm.engine.runner_setup', 'tools/oprl_cli/launch.py'),
    ('oprl_mm.datasets.verify', 'tools/oprl_cli/dataset_check.py'),
])
def test_moved_modules_name_their_new_place(module, new_place):
    with pytest.raises(ImportError, match=new_place):
        importlib.import_module(module)


@pytest.mark.parametrize('package,name,new_place', [
    ('oprl_mm.apis', 'load_config', 'tools/oprl_cli/launch.py'),
    ('oprl_mm.datasets', 'verify_dataset', 'tools/oprl_cli/dataset_check.py'),
])
def test_moved_names_name_their_new_place(package, name, new_place):
    with pytest.raises(ImportError, match=new_place):
        exec(f'from {package} import {name}', {})


def test_other_missing_names_stay_attribute_errors():
    import oprl_mm.apis
    assert not hasattr(oprl_mm.apis, 'no_such_name')


def test_the_moved_modules_work_from_tools():
    from oprl_cli.args import add_model_args, parse_thr  # noqa: F401
    from oprl_cli.dataset_check import verify_dataset  # noqa: F401
    from oprl_cli.launch import load_config, setup_launcher  # noqa: F401
