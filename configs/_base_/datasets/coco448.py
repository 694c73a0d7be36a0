# COCO 2014 multi-label, 448 x 448 (paper Sec. 5.1, Table 2).
# Layout expected under data_root (see docs/datasets.md):
#   annotations/instances_train2014.json, annotations/instances_val2014.json,
#   train2014/*.jpg, val2014/*.jpg
_base_ = ['./multilabel_base.py']

num_classes = 80
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(
        type='CocoMultiLabel',
        data_root='data/coco',
        ann_file='annotations/instances_train2014.json',
        data_prefix='train2014'))
val_dataloader = dict(
    dataset=dict(
        type='CocoMultiLabel',
        data_root='data/coco',
        ann_file='annotations/instances_val2014.json',
        data_prefix='val2014'))
test_dataloader = val_dataloader
