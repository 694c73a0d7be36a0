# ./oprl.py (OPRL on frozen, cached Lite0 features)
# without SAPM (the GCN is the identity).
_base_ = ['./oprl.py']
model = dict(head=dict(use_sapm=False))
