# The other reading of "40 epochs of one-cycle" (docs/fidelity.md, "The
# schedule's two readings"): the lineage never completes a cycle. ASL's
# train.py runs OneCycleLR over 80 epochs and breaks after epoch index 40
# (`Epochs = 80`, `Stop_epoch = 40`); Query2Label and SADCL run 80-epoch
# cycles with early stopping. This file keeps everything of oprl_40e.py and
# lays the one-cycle over 80 epochs, of which 40 are trained: the learning
# rate is still at about 70 % of its peak when training stops.
# The one-line switch in an experiment config's _base_ list: replace
#   '../_base_/schedules/oprl_40e.py'
# by
#   '../_base_/schedules/oprl_80e_stop40.py'
_base_ = ['./oprl_40e.py']

cycle_epochs = 80
max_epochs = 40
param_scheduler = dict(end=cycle_epochs)
train_cfg = dict(max_epochs=max_epochs)

# Early stopping on validation mAP, as Query2Label's and SADCL's
# `--early-stop` (stop once 8 epochs have passed since the best one), with
# mmengine's own hook; add to a config:
#   custom_hooks = [..., dict(type='EarlyStoppingHook', monitor='mAP',
#                             rule='greater', min_delta=0.0, patience=9)]
# (custom_hooks is a list: repeat the base list and append this entry.)
