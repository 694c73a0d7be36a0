# OPRL with a ResNet-101 backbone (paper Fig. 2, Eq. 1-16).
# The backbone starts from mmpretrain's ImageNet-1k ResNet-101. Without
# network access, point `checkpoint` at a local copy, or train from scratch
# with `model.backbone.init_cfg=None` AND the frozen parts below unfrozen
# (`frozen_stages=-1`, `norm_eval=False`, `norm_cfg.requires_grad=True`;
# README, "Pretrained weights").
_base_ = ['./oprl.py']

model = dict(
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
        # As Query2Label and SADCL train ResNets: every BatchNorm frozen
        # (statistics and affine: their FrozenBatchNorm2d), the stem and the
        # first stage frozen, stages 2-4 trained. The per-GPU batch then
        # does not matter for BatchNorm.
        frozen_stages=1,
        norm_eval=True,
        norm_cfg=dict(type='BN', requires_grad=False),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'resnet/resnet101_8xb32_in1k_20210831-539c63f8.pth',
            prefix='backbone')), )
