"""The tiny model's recipe shrunk for tests about building and caching, not about the model."""

from rlvr.models.tiny import TinyModelConfig

SMALL_MODEL = TinyModelConfig(
    vocab_size=300,
    hidden_size=64,
    intermediate_size=128,
    corpus_samples=20,
    num_heads=4,
    num_kv_heads=2,
    mrope_section=(2, 3, 3),
)
