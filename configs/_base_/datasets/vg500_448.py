# VG500 (Visual Genome, 500 most frequent categories), 448 x 448
# (paper Table 4). Layout expected under data_root (see docs/datasets.md):
#   VG_100K/*.jpg, train_list_500.txt, test_list_500.txt,
#   vg_category_500_labels_index.json (optional: vg_category_500.json names)
_base_ = ['./multilabel_base.py']

num_classes = 500
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(type='VG500', data_root='data/vg500', split='train'))
val_dataloader = dict(
    dataset=dict(type='VG500', data_root='data/vg500', split='test'))
test_dataloader = val_dataloader
