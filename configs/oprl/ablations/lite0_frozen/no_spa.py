# ./oprl.py (OPRL on frozen, cached Lite0 features)
# without SPA (tau = 0: plain softmax pooling).
_base_ = ['./oprl.py']
model = dict(head=dict(use_spa=False))
