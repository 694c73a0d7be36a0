# The main job: OPRL on a ResNet-18 trained from scratch on SynthMultiLabel,
# the embedded synthetic benchmark (rendered from a seed: nothing to
# download). A few minutes on a 2-core CPU:
#   python tools/train.py configs/oprl/oprl_r18_synth.py
# Test the saved checkpoint on the co-occurrence-breaking split:
#   python tools/test.py configs/oprl/oprl_r18_synth.py CKPT \
#       --cfg-options test_dataloader.dataset.split=val_shift
_base_ = [
    '../_base_/datasets/synth.py',
    '../_base_/default_runtime.py',
]

num_classes = 10
model = dict(
    type='ImageClassifier',
    # strides (1, 2, 2, 1): a 4 x 4 last map at 64 px, so that SPA and SAS
    # have positions to choose from (the standard ResNet-18 gives 2 x 2)
    backbone=dict(
        type='ResNet', depth=18, strides=(1, 2, 2, 1), out_indices=(3, )),
    neck=dict(
        type='TransformerEncoderNeck',
        in_channels=512,
        num_heads=8,
        feedforward_channels=512,
        dropout=0.1),
    head=dict(
        type='OPRLHead',
        num_classes=num_classes,
        in_channels=512,
        filter_ratio=0.5,
        aux_topk=3,
        num_gcn_layers=3,
        aux_loss_weight=1.0,
        loss=dict(
            type='LogitAsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0, clip=0.05),
        aux_loss=dict(
            type='ProbAsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0,
            clip=0.05)),
)

max_epochs = 6
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = dict(
    type='OneCycleLR',
    eta_max=1e-3,
    pct_start=0.2,
    by_epoch=True,
    begin=0,
    end=max_epochs,
    convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# Non-persistent workers are reseeded every epoch by EpochSeedHook, so that
# a resumed run replays the same augmentation.
train_dataloader = dict(persistent_workers=False)

default_hooks = dict(logger=dict(type='LoggerHook', interval=10))
# About 280 steps in all: the paper's EMA decay of 0.9997 would barely move
# from the initial weights, so this short run averages with 0.98.
custom_hooks = [
    dict(type='FiniteLossHook'),
    dict(type='EpochSeedHook'),
    dict(type='CooccurrenceHook'),
    dict(
        type='EMAHook',
        momentum=0.02,
        update_buffers=True,
        priority='ABOVE_NORMAL'),
]
randomness = dict(seed=0, deterministic=False)
