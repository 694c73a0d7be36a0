# The recipe of Sec. 5.1: AdamW, one-cycle schedule with a maximum learning
# rate of 5e-5, 40 epochs, 64 images a step in total.
# Weight decay (1e-4) is this project's choice: the paper gives none.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-5, weight_decay=1e-4),
    # no weight decay on norms and biases
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
)

param_scheduler = dict(
    type='OneCycleLR',
    eta_max=5e-5,
    pct_start=0.2,
    by_epoch=True,
    begin=0,
    end=40,
    convert_to_iter_based=True,
)

train_cfg = dict(by_epoch=True, max_epochs=40, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# 64 = 8 GPUs x 8 images. With `--auto-scale-lr`, tools/train.py scales the
# one-cycle peak (eta_max) by the real total batch size / 64.
auto_scale_lr = dict(base_batch_size=64)
