# OPRL-R101 on PASCAL VOC 2007 at 576 x 576: the resolution of the methods
# marked with a dagger in Table 1 (the paper reports OPRL at 448 only).
# 1 GPU:  python tools/train.py configs/oprl/oprl_r101_voc576.py
# 8 GPUs: tools/dist_train.sh configs/oprl/oprl_r101_voc576.py 8
_base_ = [
    '../_base_/models/oprl_r101.py',
    '../_base_/datasets/voc576.py',
    '../_base_/schedules/oprl_40e.py',
    '../_base_/default_runtime.py',
]

# the class count comes from the dataset config
model = dict(head=dict(num_classes={{_base_.num_classes}}))
