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
    ('oprl_mm.apis', 'cli', 'tools/oprl_cli/args.py'),
    ('oprl_mm.engine', 'runner_setup', 'tools/oprl_cli/launch.py'),
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


@pytest.mark.parametrize('package,name,replacement', [
    ('oprl_mm.apis', 'thresholded_metrics', 'multilabel_metrics'),
    ('oprl_mm.apis.calibration', 'thresholded_metrics', 'multilabel_metrics'),
    ('oprl_mm.evaluation', 'MLCScoreDump', 'DumpResults'),
    ('oprl_mm.evaluation', 'load_score_dump', 'DumpResults'),
    ('oprl_mm.engine', 'dataset_label_matrix', 'dataset_label_pairs'),
    ('oprl_mm.engine.hooks', 'dataset_label_matrix', 'dataset_label_pairs'),
    ('oprl_mm.evaluation.localization', 'pack_region_meta_keys',
     'with_region_meta_keys'),
])
def test_removed_names_name_their_replacement(package, name, replacement):
    with pytest.raises(ImportError, match=replacement):
        exec(f'from {package} import {name}', {})


def test_a_config_with_the_removed_dump_metric_names_dump_results():
    from mmengine.evaluator import Evaluator
    from mmengine.registry import init_default_scope

    import oprl_mm  # noqa: F401
    init_default_scope('mmpretrain')
    with pytest.raises(KeyError, match='DumpResults'):
        Evaluator([dict(type='MLCScoreDump', out_file='x.pth')])
    # the replacement builds from the same registry
    Evaluator([dict(type='DumpResults', out_file_path='x.pkl')])


def test_no_attribute_is_stored_without_a_reader():
    from mmpretrain.registry import MODELS

    from oprl_mm.models.layers import SemanticAssociationGCN
    head = MODELS.build(
        dict(type='OPRLHead', num_classes=3, in_channels=8, embed_dims=4))
    assert not hasattr(head, 'label_dims')
    assert head.ctransform.out_channels == 4
    gcn = SemanticAssociationGCN(num_classes=3, embed_dims=4, num_layers=2)
    assert not hasattr(gcn, 'num_layers') and len(gcn.weights) == 2


def test_a_moved_module_fails_in_a_fresh_interpreter():
    """The old path fails with the new place as the first import too."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root, os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run(
        [sys.executable, '-c', 'import oprl_mm.engine.runner_setup'],
        capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 1
    assert 'ImportError' in proc.stderr
    assert 'tools/oprl_cli/launch.py' in proc.stderr
