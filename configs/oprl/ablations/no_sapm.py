# configs/oprl/ablations/oprl.py without SAPM (the GCN is the identity).
_base_ = ['./oprl.py']
model = dict(head=dict(use_sapm=False))
