"""Multi-label datasets, registered in mmpretrain's DATASETS registry."""
