"""emo_gbm: frame-level emotion recognition from multimodal streams with missing modalities."""

__version__ = "0.1.0"
