# PASCAL VOC 2007 multi-label, 448 x 448 (paper Sec. 5.1, Table 1).
# mmpretrain's `VOC` dataset; layout expected under data_root (see
# docs/datasets.md): JPEGImages/*.jpg, Annotations/*.xml,
# ImageSets/Main/{trainval,test}.txt. Train on trainval (5,011 images),
# test on test (4,952 images).
#
# Difficult objects: `VOC` leaves a class that only difficult objects carry
# out of `gt_label` and lists it in `gt_label_difficult`. The test pipeline
# packs `gt_label_difficult`, and MLCMetric sets those entries to -1, which
# mAP, CP ... OF1 all ignore (the default of mmpretrain's VOC metrics and
# the usual VOC protocol). In training they are plain negatives.
_base_ = ['./multilabel_base.py']

num_classes = 20
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(
        type='VOC', data_root='data/VOCdevkit/VOC2007', split='trainval'))
val_dataloader = dict(
    dataset=dict(
        type='VOC', data_root='data/VOCdevkit/VOC2007', split='test'))
test_dataloader = val_dataloader
