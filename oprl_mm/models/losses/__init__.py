from .asymmetric_loss import (LogitAsymmetricLoss, ProbAsymmetricLoss,
                              asymmetric_loss)

__all__ = ['LogitAsymmetricLoss', 'ProbAsymmetricLoss', 'asymmetric_loss']
