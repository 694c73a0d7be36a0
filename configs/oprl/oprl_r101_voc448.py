# OPRL-R101 on PASCAL VOC 2007 at 448 x 448 (Table 1: 95.1 mAP, the paper's figure).
# 1 GPU:  python tools/train.py configs/oprl/oprl_r101_voc448.py
# 8 GPUs: tools/dist_train.sh configs/oprl/oprl_r101_voc448.py 8
_base_ = [
    '../_base_/models/oprl_r101.py',
    '../_base_/datasets/voc448.py',
    '../_base_/schedules/oprl_40e.py',
    '../_base_/default_runtime.py',
]

# the class count comes from the dataset config
model = dict(head=dict(num_classes={{_base_.num_classes}}))
