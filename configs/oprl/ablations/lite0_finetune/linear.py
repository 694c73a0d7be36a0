# Baseline fine-tuned end to end: configs/oprl/oprl_lite0_cutout256.py with
# mmpretrain's MultiLabelLinearClsHead after global average pooling (as
# LinearCAMHead, which can keep its class activation map) on the bare
# backbone (no Encoder_t neck) in place of the OPRL neck and head; backbone,
# loss (ASL on logits), scenes, augmentation, schedule and measures
# unchanged. The OPRL run it is compared with is that config itself:
#   python tools/analysis_tools/config_benchmark.py \
#       configs/oprl/oprl_lite0_cutout256.py \
#       configs/oprl/ablations/lite0_finetune/linear.py --seeds 0 1 2 \
#       --test-split val_shift
_base_ = ['../../oprl_lite0_cutout256.py']
model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='LinearCAMHead',
        num_classes={{_base_.num_classes}},
        in_channels={{_base_.model.head.in_channels}},
        loss={{_base_.model.head.loss}},
        keep_class_maps=True))
