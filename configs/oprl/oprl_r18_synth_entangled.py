# The hard embedded setting: OPRL on an 8 x 8 last map, trained from scratch
# on SynthEntangled (oprl_mm/datasets/synth_entangled.py): small objects
# among look-alike clutter, and three (anchor, dependent) pairs (0, 8),
# (1, 9), (2, 5) whose dependent is rarer, smaller and paler and almost never
# seen without its anchor in training. 3000 train / 500 val / 500 val_shift
# images of 64 x 64, 10 classes, rendered from a seed; `val` follows the
# training distribution, `val_shift` breaks the pairs. Built to test the
# paper's two claims; docs/synth_benchmark.md has the sweep.
#   python tools/train.py configs/oprl/oprl_r18_synth_entangled.py
# Everything else (schedule, EMA, hooks, loss) is the main job's.
_base_ = ['./oprl_r18_synth.py']

# Three ResNet-18 stages at half width, strides (1, 2, 1): an 8 x 8 map of
# 128 channels at 64 px (one position per 8 x 8 pixels, about the size of a
# small object), so that the 30 runs of the benchmark sweep fit in about an
# hour on a 2-core CPU.
model = dict(
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=3,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 1),
        dilations=(1, 1, 1),
        out_indices=(2, )),
    neck=dict(in_channels=128, feedforward_channels=256, num_heads=4),
    head=dict(in_channels=128),
)

dataset_type = 'SynthEntangled'
# RGB mean/std of the train split; the preprocessor turns BGR into RGB first.
data_preprocessor = dict(
    mean=[123.3, 121.3, 119.8], std=[45.0, 40.6, 44.0])
train_dataloader = dict(dataset=dict(type=dataset_type))
val_dataloader = dict(dataset=dict(type=dataset_type))
test_dataloader = val_dataloader
val_shift_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='val_shift'))

max_epochs = 6
lr = 2e-3
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = dict(eta_max=lr)  # spans train_cfg.max_epochs
train_cfg = dict(max_epochs=max_epochs)
