"""Model files that cannot run code: skops with an explicit allow-list of types.

``joblib``/``pickle`` files run whatever code they name when loaded, so a model file from
someone else would be a program. Models are saved with :mod:`skops.io` instead; loading
lists the types a file names (:func:`skops.io.get_untrusted_types`) and refuses the file,
naming it and the type, unless every one of them is on :data:`TRUSTED_TYPES`: the types this
project's own fitted pipelines contain, from numpy, scipy, scikit-learn, LightGBM, XGBoost
and emo_gbm only (and ``collections.OrderedDict``, a plain dict LightGBM keeps). Nothing else is instantiated or called.

What a user must still trust: the installed packages themselves (a trusted type's own
``__setstate__`` runs, e.g. LightGBM parsing its model text).

skops cannot store pandas objects (a smoother keeps its tuning scores as a DataFrame), so
:func:`save_model` stores each as a :class:`FrameState` (columns of plain values) and
:func:`load_model` turns them back into DataFrames.
"""

import os
import types
from pathlib import Path

import numpy as np
import pandas as pd

from emo_gbm.errors import DataFormatError

#: Modules whose types may be on the allow-list.
TRUSTED_PACKAGES = ("numpy", "scipy", "sklearn", "lightgbm", "xgboost", "emo_gbm")

#: The types skops reports as untrusted in this project's fitted pipelines (stacked_gbm,
#: stacked_xgb, early_fusion, the single-modality ones, the BiLSTM baseline), computed with
#: ``skops.io.get_untrusted_types``; ``tests/test_modelio.py`` checks the list against models it fits.
TRUSTED_TYPES = (
    "collections.OrderedDict",  # a plain dict subclass inside LightGBM's fitted estimators; runs no code
    "emo_gbm.modelio.FrameState",
    "emo_gbm.baseline._classifier.BiLSTMClassifier",
    "emo_gbm.baseline._layers.BiLSTM",
    "emo_gbm.baseline._layers.Dense",
    "emo_gbm.baseline._lstm.LSTMGroup",
    "emo_gbm.baseline._network.BaselineNetwork",
    "emo_gbm.baseline._parameters.ParameterSet",
    "emo_gbm.baseline._parameters.Workspace",
    "emo_gbm.ensemble.pooling.PooledLogisticRegression",
    "emo_gbm.smoothing._smoother.FrameSmoother",
    "emo_gbm.ensemble._blocks.ModalityBlocks",
    "emo_gbm.ensemble.stacking.StackedModalityClassifier",
    "emo_gbm.features._featurizer.WindowFeaturizer",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "numpy.dtype",
    "emo_gbm.pipelines.base.FramePipeline",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
)


class FrameState:
    """A pandas DataFrame as plain columns, so that skops can store it."""

    def __init__(self, frame=None):
        if frame is None:
            return
        self.columns = [str(c) for c in frame.columns]
        self.dtypes = [str(frame[c].dtype) for c in frame.columns]
        self.values = [frame[c].to_numpy().tolist() for c in frame.columns]
        self.index = frame.index.to_numpy().tolist()

    def to_frame(self):
        frame = pd.DataFrame(dict(zip(self.columns, self.values)), columns=self.columns, index=self.index)
        return frame.astype(dict(zip(self.columns, self.dtypes)))


def _children(obj):
    """The mutable container of ``obj``'s references and its (key, value) pairs."""
    if isinstance(obj, dict):
        return obj, list(obj.items())
    if isinstance(obj, list):
        return obj, list(enumerate(obj))
    if isinstance(obj, tuple):
        return None, list(enumerate(obj))
    if isinstance(obj, (type, types.ModuleType, types.FunctionType, np.ndarray, str, bytes)):
        return None, []
    state = getattr(obj, "__dict__", None)
    return (state, list(state.items())) if isinstance(state, dict) else (None, [])


def _swap_frames(obj, to_state, seen=None, swapped=None):
    """Replace DataFrames by FrameStates (or back) inside ``obj``; return [(container, key, old)]."""
    seen = set() if seen is None else seen
    swapped = [] if swapped is None else swapped
    if id(obj) in seen:
        return swapped
    seen.add(id(obj))
    container, items = _children(obj)
    for key, value in items:
        if isinstance(value, pd.DataFrame if to_state else FrameState):
            if container is None:
                raise TypeError(f"cannot store a DataFrame inside a {type(obj).__name__}")
            container[key] = FrameState(value) if to_state else value.to_frame()
            swapped.append((container, key, value))
        else:
            _swap_frames(value, to_state, seen, swapped)
    return swapped


def save_model(model, path):
    """Write ``model`` to ``path`` with skops, atomically (temporary file, then rename).

    Raises
    ------
    TypeError
        If the model holds a type not on :data:`TRUSTED_TYPES`: such a file could not be
        loaded back, so it is not written.
    """
    import skops.io as sio

    path = Path(path)
    swapped = _swap_frames(model, to_state=True)
    try:
        data = sio.dumps(model)
    finally:
        for container, key, old in swapped:
            container[key] = old
    untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in TRUSTED_TYPES]
    if untrusted:
        raise TypeError(f"the model holds type(s) not on emo_gbm.modelio.TRUSTED_TYPES: {', '.join(untrusted)}")
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path


def load_model(path):
    """Load a model written by :func:`save_model`, refusing any type not on :data:`TRUSTED_TYPES`.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    DataFormatError
        Naming the file: not a skops file (e.g. a pickle), or a type not on the allow-list
        (named); nothing in the file is run then.
    """
    import zipfile

    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise DataFormatError(path, f"not a skops model file ({type(exc).__name__}); models are never "
                                    f"loaded from pickle/joblib files") from None
    refused = [t for t in untrusted if t not in TRUSTED_TYPES]
    if refused:
        raise DataFormatError(path, f"refusing to load untrusted type {refused[0]}"
                                    + (f" (and {len(refused) - 1} more)" if len(refused) > 1 else "")
                                    + "; only types of emo_gbm.modelio.TRUSTED_TYPES are loaded")
    try:
        model = sio.load(path, trusted=list(untrusted))
    except Exception as exc:  # noqa: BLE001 - a malformed file must end in one line naming it
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataFormatError(path, f"cannot load the model ({reason})") from None
    if isinstance(model, FrameState):
        return model.to_frame()
    _swap_frames(model, to_state=False)
    return model
