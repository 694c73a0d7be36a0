# SynthMultiLabel, the embedded synthetic set (oprl_mm/datasets/synth.py).
# Images are rendered from a seed when read: nothing to download, no
# LoadImageFromFile. 3000 train / 500 val / 500 val_shift images of 64 x 64,
# 10 classes, co-occurring pairs (0, 1), (2, 3), (4, 5).
#
# `val` follows the training distribution; `val_shift` breaks the pairs. To
# test on it:
#   python tools/test.py CONFIG CKPT \
#       --cfg-options test_dataloader.dataset.split=val_shift
# or plug `val_shift_dataloader` below into a script.
dataset_type = 'SynthMultiLabel'
img_size = 64
num_classes = 10

# RGB mean/std of the train split; the preprocessor turns BGR into RGB first.
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[120.4, 120.9, 120.8],
    std=[48.0, 42.5, 47.1],
    to_rgb=True,
)

# Horizontal flips keep every class (all shapes are left-right symmetric up
# to their small rotation); anything heavier costs CPU time the 2-core
# budget does not have.
train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        split='train',
        img_size=img_size,
        num_classes=num_classes,
        pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=100,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        split='val',
        img_size=img_size,
        num_classes=num_classes,
        test_mode=True,
        pipeline=test_pipeline),
)
val_evaluator = dict(type='MLCMetric')

test_dataloader = val_dataloader
test_evaluator = val_evaluator

# The co-occurrence-breaking split, same settings as val_dataloader.
val_shift_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='val_shift'))
