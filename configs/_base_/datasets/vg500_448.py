# VG500 (Visual Genome, 500 most frequent categories), 448 x 448
# (paper Table 4). Layout expected under data_root (see docs/datasets.md):
#   VG_100K/*.jpg, train_list_500.txt, test_list_500.txt,
#   vg_category_500_labels_index.json (optional: vg_category_500.json names)
dataset_type = 'VG500'
data_root = 'data/vg500'
img_size = 448

# BGR mean/std of ImageNet; the preprocessor turns BGR into RGB.
data_preprocessor = dict(
    num_classes=500,
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
    dict(type='PackInputs'),
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
        split='train',
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
