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

#: Public name -> the module that defines it. The names are imported on first use (PEP 562),
#: so that ``import emo_gbm.workflow`` (a worker process, the command line) loads only what it needs.
_EXPORTS = {
    "BiLSTMClassifier": "emo_gbm.baseline",
    "EMOTIONS": "emo_gbm.constants",
    "MODALITIES": "emo_gbm.constants",
    "load_recording": "emo_gbm.data.io",
    "load_split": "emo_gbm.data.io",
    "WORLDS": "emo_gbm.data.synth",
    "generate": "emo_gbm.data.synth",
    "PooledLogisticRegression": "emo_gbm.ensemble",
    "StackedModalityClassifier": "emo_gbm.ensemble",
    "WindowFeaturizer": "emo_gbm.features",
    "score_recordings": "emo_gbm.metrics",
    "unweighted_accuracy": "emo_gbm.metrics",
    "weighted_accuracy": "emo_gbm.metrics",
    "load_model": "emo_gbm.modelio",
    "save_model": "emo_gbm.modelio",
    "PIPELINES": "emo_gbm.pipelines",
    "FramePipeline": "emo_gbm.pipelines",
    "get_pipeline": "emo_gbm.pipelines",
    "predict_posteriors": "emo_gbm.posteriors",
    "write_posteriors": "emo_gbm.posteriors",
    "FrameSmoother": "emo_gbm.smoothing",
    "check_submission": "emo_gbm.submission",
    "write_submission": "emo_gbm.submission",
    "run_suite": "emo_gbm.suite",
    "make_features": "emo_gbm.workflow",
    "predict": "emo_gbm.workflow",
    "predict_frame_proba": "emo_gbm.workflow",
    "train": "emo_gbm.workflow",
}

__version__ = "0.2.0"

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'emo_gbm' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
