# The OPRL head on mmpretrain's ConvNeXt-B (ImageNet-1k), COCO 2014 at
# 448 x 448. No paper figure: the paper does not report ConvNeXt.
# Backbone training: the lineage freezes BatchNorm and the first stage of
# ResNets only and trains its transformer backbones whole; ConvNeXt (not in
# the lineage) uses LayerNorm, holds no batch statistics, and is trained
# whole here (this project's choice).
_base_ = [
    '../_base_/models/oprl.py',
    '../_base_/datasets/coco448.py',
    '../_base_/schedules/oprl_40e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        type='ConvNeXt',
        arch='base',
        out_indices=(3, ),
        drop_path_rate=0.4,
        # keep the 14 x 14 map: normalise it instead of pooling first
        gap_before_final_norm=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'convnext/convnext-base_32xb128_in1k_20221207-fbdb5eb9.pth',
            prefix='backbone')),
    neck=dict(in_channels=1024),
    head=dict(num_classes={{_base_.num_classes}}, in_channels=1024),
)
