# OPRL's neck and head on the FROZEN ImageNet Lite0 of
# configs/oprl/oprl_lite0_cutout256.py: the backbone runs once per scene
# (BackboneFeatureCache, without augmentation; float16 maps under
# work_dirs/feature_cache) and the neck and head train on its 1280 x 8 x 8
# maps, so that the ablations and baselines beside this file afford five
# seeds each on a CPU. Everything else (scenes, head, losses, optimiser,
# schedule, EMA, measures) is that config's, except that training scenes
# are not flipped or RandAugment-ed (the maps are computed once) and that
# the sweep trains 2 epochs (100 steps, the one-cycle spanning them) and
# validates once, at the end, to afford its 50 runs.
#   python tools/train.py configs/oprl/ablations/lite0_frozen/oprl.py
#   python tools/test.py configs/oprl/ablations/lite0_frozen/oprl.py CKPT \
#       --cfg-options test_dataloader.dataset.dataset.split=val_shift
# or all of them over seeds (docs/real_photo_benchmark.md):
#   python tools/analysis_tools/config_benchmark.py \
#       configs/oprl/ablations/lite0_frozen/*.py --seeds 0 1 2 3 4 \
#       --test-split val_shift \
#       --split-key test_dataloader.dataset.dataset.split
_base_ = ['../../oprl_lite0_cutout256.py']

feature_cache = dict(
    type='BackboneFeatureCache',
    backbone={{_base_.model.backbone}},
    data_preprocessor={{_base_.data_preprocessor}},
    cache_dir='work_dirs/feature_cache',
    pipeline=[dict(type='PackInputs', meta_keys={{_base_.meta_keys}})])

model = dict(backbone=dict(_delete_=True, type='FeatureMapInput'))
# the maps are already normalised features: no mean, std or channel swap
data_preprocessor = dict(_delete_=True, type='ClsDataPreprocessor',
                         num_classes={{_base_.num_classes}})

train_dataloader = dict(dataset=dict(
    _delete_=True, dataset={{_base_.train_dataloader.dataset}},
    **feature_cache))
val_dataloader = dict(dataset=dict(
    _delete_=True, dataset={{_base_.val_dataloader.dataset}},
    **feature_cache))
test_dataloader = val_dataloader
val_shift_dataloader = dict(dataset=dict(
    _delete_=True, dataset={{_base_.val_shift_dataloader.dataset}},
    **feature_cache))

max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
