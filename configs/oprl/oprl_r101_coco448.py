# OPRL-R101 on COCO 2014 at 448 x 448: the paper's headline model
# (Table 2: 85.7 mAP, the paper's figure).
# 1 GPU:  python tools/train.py configs/oprl/oprl_r101_coco448.py
# 8 GPUs: tools/dist_train.sh configs/oprl/oprl_r101_coco448.py 8
_base_ = [
    '../_base_/models/oprl_r101.py',
    '../_base_/datasets/coco448.py',
    '../_base_/schedules/oprl_40e.py',
    '../_base_/default_runtime.py',
]

# the class count comes from the dataset config
model = dict(head=dict(num_classes={{_base_.num_classes}}))
