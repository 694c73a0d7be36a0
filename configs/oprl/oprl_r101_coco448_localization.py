# Test-time configuration of oprl_r101_coco448.py that also measures where
# the class attention falls (the paper's Fig. 6 as numbers): the share of
# each true class's SPA attention inside its COCO instance masks and boxes,
# against chance and against the plain softmax of the same saliency, and
# the pointing game (AttentionLocalization). Train with
# oprl_r101_coco448.py, then:
#   python tools/test.py configs/oprl/oprl_r101_coco448_localization.py CKPT
# Needs pycocotools (the masks come from instances_val2014.json).
_base_ = ['./oprl_r101_coco448.py']

# the head leaves S and the SPA weights (14 x 14 at 448) in its predictions
model = dict(head=dict(keep_class_maps=True))

# The whole image is resized to 448 x 448 (no crop, no flip), so the maps
# cover the original image, as AttentionLocalization assumes. PackInputs
# carries the boxes and masks of the data infos into the data samples.
test_pipeline = [
    dict(type='LoadImageFromFileOrSkip', skip_unreadable=False),
    dict(type='Resize', scale=(448, 448)),
    dict(
        type='PackInputs',
        meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction',
                   'gt_label_difficult', 'gt_bboxes', 'gt_bboxes_labels',
                   'gt_masks')),
]
test_dataloader = dict(
    dataset=dict(with_masks=True, pipeline=test_pipeline))
test_evaluator = [
    dict(type='MLCMetric'),
    dict(type='AttentionLocalization'),
]
