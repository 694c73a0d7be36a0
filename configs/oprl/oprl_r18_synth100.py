# OPRL-R18 on SynthMultiLabel with 100 classes: the 'grid' class set of
# (size, colour, shape) triples (2 sizes x 8 colours x 8 shapes, the first
# 100), 30 co-occurring pairs, and the same `val` / `val_shift` idea as the
# 10-class main job. A check that OPRL and its linear-cost head still learn
# with many classes (docs/large_vocabulary.md); a few minutes on 2 cores:
#   python tools/train.py configs/oprl/oprl_r18_synth100.py
# The linear-cost head on it:
#   python tools/train.py configs/oprl/oprl_r18_synth100.py --cfg-options \
#       model.head.embed_dims=128 model.head.cooccurrences_per_class=8 \
#       model.head.brrm_c_hidden_dims=32
_base_ = ['./oprl_r18_synth.py']

num_classes = 100
synth100 = dict(
    num_classes=num_classes,
    class_set='grid',
    # 30 disjoint pairs of classes that share neither shape nor colour
    # nor, mostly, size: (0, 99), (1, 98) ... (29, 70)
    cooccur_pairs=[(i, 99 - i) for i in range(30)])

data_preprocessor = dict(num_classes=num_classes)
model = dict(head=dict(num_classes=num_classes))
train_dataloader = dict(dataset=dict(num_images=3000, **synth100))
val_dataloader = dict(dataset=dict(num_images=1000, **synth100))
test_dataloader = val_dataloader
val_shift_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='val_shift'))
