"""emo_gbm: frame-level emotion recognition from multimodal streams with missing modalities.

Window statistics per modality (:class:`WindowFeaturizer`), per-modality gradient boosting
stacked on grouped out-of-fold posteriors (:class:`StackedModalityClassifier`), a smoother
from window posteriors to 100 fps labels (:class:`FrameSmoother`), bundled as named
pipelines (:func:`get_pipeline` returns a :class:`FramePipeline`); a NumPy BiLSTM
reproduction of the challenge baseline (:class:`BiLSTMClassifier`). The stage functions
(:func:`make_features`, :func:`train`, :func:`predict`, :func:`write_submission`, ...) are
what ``emo-gbm`` and ``make`` run.

Examples
--------
>>> import emo_gbm
>>> from sklearn.base import clone
>>> pipe = clone(emo_gbm.get_pipeline("stacked_gbm"))
>>> type(pipe).__name__, pipe.get_params()["smoothing"]
('FramePipeline', 'auto')
"""

from emo_gbm.baseline import BiLSTMClassifier
from emo_gbm.constants import EMOTIONS, MODALITIES
from emo_gbm.data.io import load_recording, load_split
from emo_gbm.data.synth import WORLDS, generate
from emo_gbm.ensemble import PooledLogisticRegression, StackedModalityClassifier
from emo_gbm.features import WindowFeaturizer
from emo_gbm.metrics import score_recordings, unweighted_accuracy, weighted_accuracy
from emo_gbm.modelio import load_model, save_model
from emo_gbm.pipelines import PIPELINES, FramePipeline, get_pipeline
from emo_gbm.posteriors import predict_posteriors, write_posteriors
from emo_gbm.smoothing import FrameSmoother
from emo_gbm.submission import check_submission, write_submission
from emo_gbm.suite import run_suite
from emo_gbm.workflow import make_features, predict, predict_frame_proba, train

__version__ = "0.2.0"

__all__ = [
    "BiLSTMClassifier",
    "EMOTIONS",
    "FramePipeline",
    "FrameSmoother",
    "MODALITIES",
    "PIPELINES",
    "PooledLogisticRegression",
    "StackedModalityClassifier",
    "WORLDS",
    "WindowFeaturizer",
    "__version__",
    "check_submission",
    "generate",
    "get_pipeline",
    "load_model",
    "load_recording",
    "load_split",
    "make_features",
    "predict",
    "predict_frame_proba",
    "predict_posteriors",
    "run_suite",
    "save_model",
    "score_recordings",
    "train",
    "unweighted_accuracy",
    "weighted_accuracy",
    "write_posteriors",
    "write_submission",
]
