"""The features stage's work on one recording, as a worker process runs it.

This module imports NumPy, pandas and the loading and windowing code only (no scikit-learn,
no model code), so that the stage's worker processes start in a fraction of a second.
"""

import numpy as np
import pandas as pd

from emo_gbm.data._loading import load_one
from emo_gbm.features._windowing import featurize_recording


def featurize_file(data_dir, split, rec_id, skip_bad_files, meta, columns, window):
    """Load one recording and summarise it.

    Parameters
    ----------
    data_dir, split, rec_id, skip_bad_files, meta, columns
        As :func:`~emo_gbm.data.io.load_one` takes them (``columns``: the split's schema).
    window : dict
        :func:`~emo_gbm.features.featurize_recording`'s keyword arguments: a fitted
        :class:`~emo_gbm.features.WindowFeaturizer`'s ``window_params()``.

    Returns
    -------
    result : tuple or None
        The recording's window table, its entry of the recordings table and (train) its frame
        labels; None when the recording was skipped.
    skipped : list
        The errors of files skipped as bad.
    """
    recording, skipped = load_one(data_dir, split, rec_id, False, skip_bad_files, meta, columns)
    if recording is None:
        return None, skipped
    windows = featurize_recording(recording, **window)
    if split == "train" and (windows["label"] < 0).any():
        raise ValueError(f"{data_dir}: train recording {rec_id} has no labels")
    group = str(recording.meta.get("actor", rec_id)) if recording.meta else rec_id
    frames = None
    if split == "train":
        frames = pd.DataFrame({
            "rec_id": np.repeat(rec_id, recording.n_frames), "frame": np.arange(recording.n_frames),
            "label": recording.labels.astype(np.int8), "agreement": recording.agreement.astype(np.float32),
        })
    rates = {f"rate__{m}": float(r) for m, r in recording.rates.items()}
    return (windows, dict(rec_id=rec_id, n_frames=recording.n_frames, group=group, **rates), frames), skipped
