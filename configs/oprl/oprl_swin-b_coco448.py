# The OPRL head on mmpretrain's Swin-B (ImageNet-1k, 224 weights; window 7
# tiles the 14 x 14 last stage at 448), COCO 2014 at 448 x 448.
# No paper figure: the paper does not report Swin.
# Backbone training: the lineage freezes BatchNorm and the first stage of
# ResNets only; its transformer backbones (Query2Label's Swin-L and CvT) are
# trained whole, with nothing frozen (LayerNorm holds no batch statistics).
# So is this one.
_base_ = [
    '../_base_/models/oprl.py',
    '../_base_/datasets/coco448.py',
    '../_base_/schedules/oprl_40e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        type='SwinTransformer',
        arch='base',
        img_size=448,
        out_indices=(3, ),
        drop_path_rate=0.3,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'swin-transformer/swin_base_224_b16x64_300e_imagenet_'
            '20210616_190742-93230b0d.pth',
            prefix='backbone')),
    neck=dict(in_channels=1024),
    head=dict(num_classes={{_base_.num_classes}}, in_channels=1024),
)

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        '.absolute_pos_embed': dict(decay_mult=0.0),
        '.relative_position_bias_table': dict(decay_mult=0.0),
    }))
