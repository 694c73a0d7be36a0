# NUS-WIDE (81 concepts) multi-label, 448 x 448 (paper Table 3).
# Any of the three layouts of docs/datasets.md under data_root: the official
# one (ImageList/, Groundtruth/TrainTestLabels/, images in Flickr/), the
# Query2Label one (Groundtruth/Labels_{Train,Test}.txt) or the ASL csv
# (nus_wid_data.csv). `layout=None` detects it; images without any of the
# 81 concepts are dropped (`filter_cfg=dict(filter_empty_gt=True)`).
_base_ = ['./multilabel_base.py']

num_classes = 81
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(
        type='NUSWide', data_root='data/nus-wide', split='train',
        layout=None))
val_dataloader = dict(
    dataset=dict(
        type='NUSWide', data_root='data/nus-wide', split='test', layout=None))
test_dataloader = val_dataloader
