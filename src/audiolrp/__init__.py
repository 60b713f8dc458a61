"""audiolrp: Layer-wise Relevance Propagation for audio neural networks.

Reference implementation of Kiyan, Poschadel, Preihs & Peissig, "Adaption of Layerwise
Relevance Propagation for Audio Applications": HOA room simulation, the paper's DOA CRNNs,
LRP for convolutional-recurrent networks (BiLSTM included) and the audio-specific analyses
(channel relevance, pixel flipping, auralization).
"""

from audiolrp.errors import AudioLRPError

__version__ = "0.1.0"

__all__ = ["AudioLRPError", "__version__"]
