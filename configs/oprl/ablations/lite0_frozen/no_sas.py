# ./oprl.py (OPRL on frozen, cached Lite0 features)
# without SAS (no aux loss on p_aux).
_base_ = ['./oprl.py']
model = dict(head=dict(use_aux_loss=False))
