# Renamed: Table 2 has two ViT-L/16 rows, and this config loaded the
# ImageNet-21k weights while naming the ImageNet-1k row's 88.1.
# Use configs/oprl/oprl_vit-l16-in21k_coco448.py (the paper's "ViT-L16(22k)"
# row, 90.3). mmpretrain publishes no supervised ImageNet-1k ViT-L/16, so the
# 88.1 row has no config (README, "Configs").
raise ValueError(
    'configs/oprl/oprl_vit-l16_coco448.py was renamed: use '
    'configs/oprl/oprl_vit-l16-in21k_coco448.py (Table 2, ViT-L16(22k), '
    '90.3); mmpretrain publishes no supervised ImageNet-1k ViT-L/16 for the '
    '88.1 row (README, "Configs")')
