# The runtime of every OPRL experiment: mmpretrain's defaults plus the hooks
# OPRL needs. (Written out rather than inherited with `mmpretrain::`, which
# needs pkg_resources, gone from recent setuptools.)
default_scope = 'mmpretrain'
custom_imports = dict(imports=['oprl_mm'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keep the last checkpoints and the best one by mAP; every file is
    # written to a temporary name and renamed (survives a kill)
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=2,
        save_best='mAP',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

custom_hooks = [
    # stop on a NaN/inf loss, naming the iteration
    dict(type='FiniteLossHook'),
    # seed every epoch from (seed, epoch): resume replays augmentation exactly
    dict(type='EpochSeedHook'),
    # the head's class count against the train, val and test sets
    dict(type='ClassCountCheckHook'),
    # log the keys a lenient load_from left at their initial values
    dict(type='LoadReportHook'),
    # list the unreadable training images skipped; stop above 1% of them
    dict(type='UnreadableImageHook', max_share=0.01),
    # SAPM's co-occurrence matrix A from the training labels (Eq. 8, 10)
    dict(type='CooccurrenceHook'),
    # one warning when GPUs x per-GPU batch x accumulation is not the 64
    # the learning rate and EMA are for, and --auto-scale-lr is off
    dict(type='BatchSizeCheckHook'),
    # EMA decay 0.9997 (Sec. 5.1); buffers are averaged too
    dict(
        type='EMAHook',
        momentum=0.0003,
        update_buffers=True,
        priority='ABOVE_NORMAL'),
    # on SIGTERM: finish the iteration, save iter_N.pth, exit 75 (requeue)
    dict(type='PreemptionHook'),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # a rank that waits longer than `timeout` seconds on a collective (a
    # stalled or dead peer) stops the job with a message naming it
    dist_cfg=dict(backend='nccl', timeout=900),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
