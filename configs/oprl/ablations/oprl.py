# OPRL on SynthEntangled (configs/oprl/oprl_r18_synth_entangled.py) with the
# measures of the benchmark in its evaluators; the reference of the single
# ablations and baselines beside it, each of which switches one thing:
#   python tools/train.py configs/oprl/ablations/oprl.py
#   python tools/test.py configs/oprl/ablations/oprl.py CKPT \
#       --cfg-options test_dataloader.dataset.split=val_shift
# or all of them over seeds:
#   python tools/analysis_tools/config_benchmark.py configs/oprl/ablations/*.py
_base_ = ['../oprl_r18_synth_entangled.py']

# the head leaves its class maps (S, SPA weights) in its predictions, for
# AttentionLocalization; training is unchanged
model = dict(head=dict(keep_class_maps=True))

# the boxes reach the data samples (AttentionLocalization, SmallObjectMAP
# read them from the metainfo): mmpretrain's default meta keys plus the
# dataset's gt_bboxes, gt_bboxes_labels (and gt_masks where a dataset has
# them). The test pipeline keeps the whole image (no crop, no flip), as the
# localisation measure assumes.
meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'gt_bboxes',
             'gt_bboxes_labels', 'gt_masks')
test_pipeline = [dict(type='PackInputs', meta_keys=meta_keys)]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_shift_dataloader = dict(dataset=dict(pipeline=test_pipeline))

val_evaluator = [
    dict(type='MLCMetric'),
    # images whose every object box side is <= 0.2 of the image side
    dict(type='SmallObjectMAP', small_side=0.2),
    # SynthEntangled's dependent classes (SynthEntangled.dependents)
    dict(type='ClassSubsetMAP', classes=[5, 8, 9], prefix='dependents'),
    dict(type='AttentionLocalization'),
]
test_evaluator = val_evaluator
