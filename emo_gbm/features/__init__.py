"""Windowing: cut aligned recordings into fixed-length windows and summarise them.

A window is ``length`` consecutive frames of the 100 fps grid. For every modality and
window, :class:`WindowFeaturizer` computes statistics of each feature over the frames where
the modality is present, plus the share of frames where it is missing. A statistic of a
modality that has no present frame in the window is NaN, never 0: zeros are the data's own
code for "missing" and must not come back as if they were measurements.

Feature sets are named plain lists of statistic names (:data:`FEATURE_SETS`); statistics
whose name starts with ``flag_`` describe the binary eye flags
(:data:`~emo_gbm.constants.EYE_FLAG_COLUMNS`), the others the continuous columns. The
``"default"`` set summarises the level and spread of each column; ``"dynamics"`` adds
:data:`DYNAMICS_STATISTICS`, which describe how the column moves within the window
(autocorrelation, mean crossings, drift between the halves, spread relative to the recording).

The modalities and their columns come from the data: a feature is named
``<modality>__<source column>__<statistic>`` (e.g. ``audio__F0semitoneFrom27.5Hz_sma3nz__mean``,
``face_nn__c000__mean`` for a file without a header), and each modality has
``<modality>__missing_frac``. :class:`WindowFeaturizer` learns them in ``fit``.

With ``voicing``, openSMILE's voiced-only descriptors (:data:`VOICED_ONLY`: F0, jitter,
shimmer, HNR, H1-H2, H1-A3 and the formant amplitudes, which openSMILE sets to 0 or -201 on
unvoiced frames) are summarised over voiced frames only, as ``<name>_voiced``, with the voiced
share as the column ``voiced`` (:func:`summarised_columns`).
"""

from emo_gbm.features._names import (
    UNVOICED_CODES,
    VOICED_ONLY,
    columns_from_feature_names,
    feature_names,
    resolve_statistics,
    sanitize_column_names,
    summarised_columns,
    voicing_columns,
)
from emo_gbm.features._sets import (
    ACF_LAG,
    ACF_MIN_PAIRS,
    CONTINUOUS_STATISTICS,
    DYNAMICS_STATISTICS,
    FEATURE_SETS,
    FLAG_STATISTICS,
    META_COLUMNS,
    STATISTICS,
)
from emo_gbm.features._windowing import featurize_recording, window_labels, window_starts


def __getattr__(name):
    # WindowFeaturizer (a scikit-learn transformer) is imported on first use, so that the
    # windowing functions load without scikit-learn (the feature workers, emo_gbm.features._tasks).
    if name == "WindowFeaturizer":
        from emo_gbm.features._featurizer import WindowFeaturizer

        globals()[name] = WindowFeaturizer
        return WindowFeaturizer
    raise AttributeError(f"module 'emo_gbm.features' has no attribute {name!r}")

__all__ = [
    "ACF_LAG",
    "ACF_MIN_PAIRS",
    "CONTINUOUS_STATISTICS",
    "DYNAMICS_STATISTICS",
    "FEATURE_SETS",
    "FLAG_STATISTICS",
    "META_COLUMNS",
    "STATISTICS",
    "UNVOICED_CODES",
    "VOICED_ONLY",
    "WindowFeaturizer",
    "columns_from_feature_names",
    "feature_names",
    "featurize_recording",
    "resolve_statistics",
    "sanitize_column_names",
    "summarised_columns",
    "voicing_columns",
    "window_labels",
    "window_starts",
]
