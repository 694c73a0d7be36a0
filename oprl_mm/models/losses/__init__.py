from .prob_asl import ProbAsymmetricLoss, prob_asymmetric_loss

__all__ = ['ProbAsymmetricLoss', 'prob_asymmetric_loss']
