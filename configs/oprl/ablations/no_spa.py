# configs/oprl/ablations/oprl.py without SPA (tau = 0: plain softmax pooling).
_base_ = ['./oprl.py']
model = dict(head=dict(use_spa=False))
