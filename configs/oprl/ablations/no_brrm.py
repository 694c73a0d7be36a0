# configs/oprl/ablations/oprl.py without BRRM (the identity).
_base_ = ['./oprl.py']
model = dict(head=dict(use_brrm=False))
