# OPRL with a ResNet-101 backbone (paper Fig. 2, Eq. 1-16).
# The backbone starts from mmpretrain's ImageNet-1k ResNet-101. Without
# network access, point `checkpoint` at a local copy, or set
# `model.backbone.init_cfg=None` to train from scratch (README, "Pretrained
# weights").
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'resnet/resnet101_8xb32_in1k_20210831-539c63f8.pth',
            prefix='backbone')),
    # Encoder_t (Eq. 2)
    neck=dict(
        type='TransformerEncoderNeck',
        in_channels=2048,
        num_heads=8,
        feedforward_channels=1280,
        dropout=0.1),
    head=dict(
        type='OPRLHead',
        num_classes=80,
        in_channels=2048,
        filter_ratio=0.5,  # tau, Eq. 6
        aux_topk=3,  # K, Eq. 4
        num_gcn_layers=3,  # L, Eq. 10
        aux_loss_weight=1.0,  # lambda, Eq. 16
        use_spa=True,
        use_aux_loss=True,
        use_sapm=True,
        use_average_message=True,
        use_brrm=True,
        # ASL's own defaults: the paper gives no gammas
        loss=dict(
            type='LogitAsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0, clip=0.05),
        aux_loss=dict(
            type='ProbAsymmetricLoss', gamma_pos=0.0, gamma_neg=4.0,
            clip=0.05),
    ),
)
