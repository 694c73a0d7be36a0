"""configs/oprl/metafile.yml lists every config, and only real ones."""
import glob
import os.path as osp

import yaml
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
METAFILE = osp.join(ROOT, 'configs', 'oprl', 'metafile.yml')
# old config names kept as files that fail, naming the new config
RENAMED = {'oprl_vit-l16_coco448.py': 'oprl_vit-l16-in21k_coco448.py'}


def load():
    with open(METAFILE) as f:
        return yaml.safe_load(f)


def test_metafile_lists_every_config_once():
    models = load()['Models']
    listed = [m['Config'] for m in models]
    configs = sorted(
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(ROOT, 'configs', 'oprl', '*.py'))
        if osp.basename(p) not in RENAMED)
    assert sorted(listed) == configs
    assert len(set(listed)) == len(listed)
    for model in models:
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
        assert model['In Collection'] == 'OPRL'


def test_collection_names_the_paper():
    (collection, ) = load()['Collections']
    assert collection['Paper']['Title'].startswith('Towards Space and '
                                                   'Semantics')
    assert collection['Paper']['URL'].startswith('https://doi.org/')


def test_results_are_the_papers_and_no_weights_are_claimed():
    for model in load()['Models']:
        assert 'Weights' not in model, model['Name']
        for result in model.get('Results', []):
            assert result['Source'].startswith('paper, Table'), model['Name']
            assert 'mAP' in result['Metrics']


def test_training_data_matches_the_config_dataset():
    names = {
        'CocoMultiLabel': 'COCO 2014',
        'VOC': 'PASCAL VOC 2007',
        'NUSWide': 'NUS-WIDE',
        'VG500': 'VG500',
        'OpenImages': 'Open Images',
    }
    for model in load()['Models']:
        cfg = Config.fromfile(osp.join(ROOT, model['Config']))
        dataset = cfg.train_dataloader.dataset.type
        expected = names.get(dataset, dataset)
        assert model['Metadata']['Training Data'].startswith(expected), \
            model['Name']


def test_vit_l16_rows_are_table_2s():
    models = {m['Name']: m for m in load()['Models']}
    assert 'oprl_vit-l16_coco448' not in models
    vit = models['oprl_vit-l16-in21k_coco448']
    (result, ) = vit['Results']
    assert result['Metrics']['mAP'] == 90.3
    assert '22k' in result['Source']
    cfg = Config.fromfile(osp.join(ROOT, vit['Config']))
    assert 'in21k-pre' in cfg.model.backbone.init_cfg.checkpoint
