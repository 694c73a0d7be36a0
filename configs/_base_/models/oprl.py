# The OPRL neck and head (paper Fig. 2, Eq. 2-16), for any backbone that
# returns a D x H x W map and any dataset: a backbone config adds `backbone`
# and sets D (`in_channels` of neck and head); an experiment sets
# `num_classes` once, from its dataset config.
model = dict(
    type='ImageClassifier',
    # Encoder_t (Eq. 2). The paper gives no feed-forward width; 1280 is the
    # width that gives OPRL-R101 Table 8's 86 M parameters and 34.7 G
    # multiply-adds as thop counts them (docs/fidelity.md). 4 heads:
    # Query2Label's default and the authors' own COCO configs (SADCL's
    # checkpoint/{Q2L,SADCL}/ResNet_448_MSCOCO14/config.json, nheads 4).
    neck=dict(
        type='TransformerEncoderNeck',
        in_channels=2048,
        num_heads=4,
        feedforward_channels=1280,
        dropout=0.1),
    head=dict(
        type='OPRLHead',
        in_channels=2048,
        filter_ratio=0.5,  # tau, Eq. 6
        aux_num_positions=3,  # K, Eq. 4
        num_gcn_layers=3,  # L, Eq. 10
        aux_loss_weight=1.0,  # lambda, Eq. 16
        use_spa=True,
        use_aux_loss=True,
        use_sapm=True,
        use_average_message=True,
        use_brrm=True,
        # ASL as the authors ran it in their own Query2Label run on COCO
        # (SADCL's checkpoint/Q2L/ResNet_448_MSCOCO14/config.json:
        # gamma_neg 4, gamma_pos 0, loss_clip 0.0, eps 1e-05, dtgfl true:
        # the focal weight detached); the paper gives no ASL parameters
        loss=dict(
            type='LogitAsymmetricLoss',
            gamma_pos=0.0,
            gamma_neg=4.0,
            clip=0.0,
            eps=1e-5,
            detach_focal_weight=True),
        aux_loss=dict(
            type='ProbAsymmetricLoss',
            gamma_pos=0.0,
            gamma_neg=4.0,
            clip=0.0,
            eps=1e-5,
            detach_focal_weight=True),
    ),
)
