# Open Images V6 (V7 with version='v7'), human-verified image-level labels,
# the 9,605 trainable classes, 448 x 448. Layout expected under data_root
# (see docs/datasets.md, "Open Images"):
#   oidv6-class-descriptions.csv, oidv6-classes-trainable.txt,
#   oidv6-train-annotations-human-imagelabels.csv,
#   validation-annotations-human-imagelabels.csv,
#   train/<ImageID>.jpg, validation/<ImageID>.jpg
# Only verified labels are scored: MLCMetric treats every class of an image
# that is neither a verified positive nor a verified negative as unknown.
_base_ = ['./multilabel_base.py']

num_classes = 9605
data_preprocessor = dict(num_classes=num_classes)

# the test pipeline of multilabel_base.py, also packing the verified
# negatives (`gt_label_negative`) that MLCMetric needs
test_pipeline = [
    dict(type='LoadImageFromFileOrSkip', skip_unreadable=False),
    dict(type='Resize', scale=(448, 448)),
    dict(
        type='PackInputs',
        meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction',
                   'gt_label_negative')),
]
train_dataloader = dict(
    dataset=dict(
        type='OpenImages',
        data_root='data/openimages',
        split='train',
        version='v6',
        # images you have not downloaded: True trains on the others
        skip_unreadable=False))
val_dataloader = dict(
    dataset=dict(
        type='OpenImages',
        data_root='data/openimages',
        split='validation',
        version='v6',
        # an image with verified negatives only still scores them
        filter_cfg=dict(filter_empty_gt=False),
        skip_unreadable=False,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
