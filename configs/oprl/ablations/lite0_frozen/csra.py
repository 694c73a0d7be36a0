# Baseline: mmpretrain's CSRAClsHead (as CSRAMapHead, which can keep its class
# attention), on the bare frozen backbone (no Encoder_t neck), in place of
# the OPRL head of ./oprl.py; features, loss (ASL on logits), scenes,
# schedule and measures unchanged.
_base_ = ['./oprl.py']
model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='CSRAMapHead',
        num_heads=1,
        lam=0.1,  # CSRA's setting for ResNet-101 (one head)
        num_classes={{_base_.num_classes}},
        in_channels={{_base_.model.head.in_channels}},
        loss={{_base_.model.head.loss}},
        keep_class_maps=True))
