# What every real-image dataset config shares: ImageNet normalisation, the
# augmentation recipe of Sec. 5.1 at 448 and 576 pixels, loaders and
# MLCMetric. A dataset config inherits this file and adds its dataset
# (type, data_root, files) and its class count.


# RandAugment as the lineage runs it (Query2Label and SADCL import the
# `randaugment` package, 1.0.2): two of its fifteen PIL ops per image, each
# with a magnitude step drawn from 1-9 and applied with probability 0.5,
# grey fill (oprl_mm.datasets.LineageRandAugment).
randaugment = dict(type='LineageRandAugment')
# The earlier default, mmpretrain's timm policy at magnitude 9 +- 0.5
# (stronger on average; this project's choice). To train with it, a config
# that inherits a dataset config sets
#   train_dataloader = dict(
#       dataset=dict(pipeline={{_base_.train_pipeline_timm_randaugment}}))
# (or `train_pipeline_576_timm_randaugment` at 576 px).
timm_randaugment = dict(
    type='RandAugment',
    policies='timm_increasing',
    num_policies=2,
    total_level=10,
    magnitude_level=9,
    magnitude_std=0.5,
    # BGR mean of ImageNet, the fill of its geometric ops
    hparams=dict(pad_val=[104, 116, 124]))


def _pipelines(img_size, randaugment=randaugment):
    train = [
        # An unreadable training image (missing, empty, truncated) is logged
        # once and replaced by another sample; UnreadableImageHook lists
        # them at the end and stops a run where more than 1% are
        # (skip_unreadable=False: the first one stops the run; see
        # docs/datasets.md).
        dict(type='LoadImageFromFileOrSkip', skip_unreadable=True),
        dict(type='Resize', scale=(img_size, img_size)),
        # RandAugment + Cutout, the recipe of Sec. 5.1. The paper gives no
        # Cutout size; Query2Label/SADCL (SLCutoutPIL, length 224 at 448)
        # cut one square of side half the image, filled with a random
        # colour, on every image, after the resize and before RandAugment.
        dict(type='RandomColorCutout', size_ratio=0.5, prob=1.0),
        randaugment,
        # `skipped_images`: the unreadable files a sample stands in for,
        # which UnreadableImageHook counts from the batches
        dict(
            type='PackInputs',
            meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor', 'flip', 'flip_direction',
                       'skipped_images')),
    ]
    test = [
        # never skips: an unreadable image is an error naming the file
        dict(type='LoadImageFromFileOrSkip', skip_unreadable=False),
        dict(type='Resize', scale=(img_size, img_size)),
        # `gt_label_difficult` (VOC) lets MLCMetric ignore difficult-only
        # labels; datasets without it simply do not pack it
        dict(
            type='PackInputs',
            meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor', 'flip', 'flip_direction',
                       'gt_label_difficult')),
    ]
    return train, test


train_pipeline, test_pipeline = _pipelines(448)
train_pipeline_576, test_pipeline_576 = _pipelines(576)
train_pipeline_timm_randaugment = _pipelines(448, timm_randaugment)[0]
train_pipeline_576_timm_randaugment = _pipelines(576, timm_randaugment)[0]

# BGR images; the preprocessor turns them into RGB and normalises with the
# RGB mean/std of ImageNet. Each dataset config sets num_classes.
data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

# 8 images per GPU: 64 in total on 8 GPUs, the paper's batch.
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    # a worker that has not handed over a batch within 300 s (stuck on a
    # file system, shared memory full) stops the run instead of hanging it
    timeout=300,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    timeout=300,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(test_mode=True, pipeline=test_pipeline),
)
val_evaluator = dict(type='MLCMetric')

test_dataloader = val_dataloader
test_evaluator = val_evaluator
