# OPRL-R101 on COCO 2014 at 576 x 576 (Table 2: 87.0 mAP, the paper's figure).
_base_ = [
    '../_base_/models/oprl_r101.py',
    '../_base_/datasets/coco576.py',
    '../_base_/schedules/oprl_40e.py',
    '../_base_/default_runtime.py',
]

# the class count comes from the dataset config
model = dict(head=dict(num_classes={{_base_.num_classes}}))
