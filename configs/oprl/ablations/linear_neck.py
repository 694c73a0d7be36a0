# Baseline: mmpretrain's MultiLabelLinearClsHead after global average pooling
# (as LinearCAMHead, which pools and can keep its class activation map),
# behind the same Encoder_t neck, in place of the OPRL head of
# configs/oprl/ablations/oprl.py; backbone, loss (ASL on logits), data,
# schedule and measures unchanged. CooccurrenceHook finds no OPRL head and
# does nothing.
_base_ = ['./oprl.py']
model = dict(
    head=dict(
        _delete_=True,
        type='LinearCAMHead',
        num_classes={{_base_.num_classes}},
        in_channels={{_base_.model.head.in_channels}},
        loss={{_base_.model.head.loss}},
        keep_class_maps=True))
