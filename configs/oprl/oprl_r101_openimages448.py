# OPRL-R101 on Open Images (9,605 trainable classes) at 448 x 448, with the
# linear-cost head options (docs/large_vocabulary.md): the faithful head
# would cost about 1.3 T multiply-adds an image at this C, 40 times
# ResNet-101; this one stays under half of the backbone.
# 1 GPU:  python tools/train.py configs/oprl/oprl_r101_openimages448.py
# 8 GPUs: tools/dist_train.sh configs/oprl/oprl_r101_openimages448.py 8
# The schedule is the paper's COCO recipe (40 epochs); the paper reports no
# Open Images run.
_base_ = [
    '../_base_/models/oprl_r101.py',
    '../_base_/datasets/openimages448.py',
    '../_base_/schedules/oprl_40e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    head=dict(
        num_classes={{_base_.num_classes}},
        # d: Ctransform maps 2048 -> 256, so SPA pools a 256-dim F_hat and
        # SAPM, BRRM and the classifier work at 256
        embed_dims=256,
        # k: each class's 16 strongest co-occurrences in SAPM's A message;
        # AMP's average message as a mean
        cooccurrences_per_class=16,
        # h: BRRM's category (c-dim) MLPs 9,605 -> 64 -> 9,605
        brrm_c_hidden_dims=64))
