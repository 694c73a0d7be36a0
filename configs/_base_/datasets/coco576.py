# COCO 2014 multi-label at 576 x 576 (paper Table 2, lower block).
_base_ = ['./coco448.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_576}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline_576}}))
test_dataloader = val_dataloader
