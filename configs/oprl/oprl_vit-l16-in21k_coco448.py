# OPRL on a ViT-L/16 backbone pre-trained on ImageNet-21k, COCO 2014 at
# 448 x 448: Table 2's "ViT-L16(22k)" row (90.3 mAP, the paper's figure).
# mmpretrain's ViT-L/16 `vit-large-p16_in21k-pre_3rdparty_in1k-384px`
# (ImageNet-21k pre-trained, fine-tuned on 1k at 384, its model zoo's only
# supervised ViT-L/16); its position embedding is resized to 28 x 28 tokens
# when loaded. Table 2's ImageNet-1k row (88.1) has no config: mmpretrain
# publishes no supervised ImageNet-1k ViT-L/16 (its 1k-only ViT-L/16 are
# MAE and MoCo v3 self-supervised weights, another pre-training).
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
        type='VisionTransformer',
        arch='large',
        img_size=448,
        patch_size=16,
        out_type='featmap',
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'vit/finetune/vit-large-p16_in21k-pre-3rdparty_ft-64xb64_in1k-'
            '384_20210928-b20ba619.pth',
            prefix='backbone')),
    neck=dict(in_channels=1024),
    head=dict(num_classes={{_base_.num_classes}}, in_channels=1024),
)

# ViT's [-1, 1] normalisation
data_preprocessor = dict(
    mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5])

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        '.pos_embed': dict(decay_mult=0.0),
        '.cls_token': dict(decay_mult=0.0),
    }))
