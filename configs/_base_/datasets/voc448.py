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
dataset_type = 'VOC'
data_root = 'data/VOCdevkit/VOC2007'
img_size = 448

# BGR mean/std of ImageNet; the preprocessor turns BGR into RGB.
data_preprocessor = dict(
    num_classes=20,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)
bgr_mean = data_preprocessor['mean'][::-1]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size)),
    # RandAugment + Cutout, the recipe of Sec. 5.1. Cutout covers a
    # half-size square with probability 0.5 (the paper gives no size).
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(pad_val=[round(x) for x in bgr_mean])),
    dict(type='Cutout', shape=img_size // 2, pad_val=128, prob=0.5),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size)),
    # `gt_label_difficult` is needed to ignore difficult-only labels
    dict(
        type='PackInputs',
        meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction',
                   'gt_label_difficult')),
]

# 8 images per GPU: 64 in total on 8 GPUs, the paper's batch.
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='trainval',
        pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        test_mode=True,
        pipeline=test_pipeline),
)
val_evaluator = dict(type='MLCMetric', thr=0.5)

test_dataloader = val_dataloader
test_evaluator = val_evaluator
