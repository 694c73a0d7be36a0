# ./oprl.py (OPRL on frozen, cached Lite0 features)
# without BRRM (the identity).
_base_ = ['./oprl.py']
model = dict(head=dict(use_brrm=False))
