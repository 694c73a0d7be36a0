from .transformer_encoder import TransformerEncoderNeck, sine_position_encoding

__all__ = ['TransformerEncoderNeck', 'sine_position_encoding']
