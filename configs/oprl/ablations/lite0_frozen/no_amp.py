# ./oprl.py (OPRL on frozen, cached Lite0 features)
# with SAPM but without AMP (A in every layer).
_base_ = ['./oprl.py']
model = dict(head=dict(use_average_message=False))
