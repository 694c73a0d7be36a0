# PASCAL VOC 2007 at 576 x 576. Table 1 marks with a dagger the compared
# methods that use 576 x 576 (SSGRL, ADD-GCN); OPRL's own VOC rows are
# 448 x 448. This resolution compares like with like.
_base_ = ['./voc448.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_576}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline_576}}))
test_dataloader = val_dataloader
