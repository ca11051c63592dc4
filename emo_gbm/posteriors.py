"""Frame posteriors: one file per template (``emo-gbm predict``), or a DataFrame from DataFrames.

``emo-gbm predict`` writes, for every template ``DATA/SPLIT/prediction/<id>.csv``, a file
``OUT/<id>.csv`` with the template's header and ``Time`` strings and, in the six emotion
columns, the frame posteriors of the trained pipeline (those of its chosen smoother,
:meth:`pipelines.FramePipeline.predict_frame_proba`), or ``OUT/<id>.parquet`` files.

From Python, :func:`recording_from_frames` builds a recording from one DataFrame per modality
(a ``Time`` column and the features) and the frame grid, and :func:`predict_posteriors` gives
its frame posteriors as a DataFrame, exactly as the files would hold them.
"""

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from emo_gbm.constants import EMOTIONS, FRAME_RATE, RATES
from emo_gbm.data.recording import Recording, order_modalities

#: Decimals of the posteriors written to CSV.
DECIMALS = 6

#: Output formats of :func:`write_posteriors`.
FORMATS = ("csv", "parquet")


def rounded_posteriors(proba, decimals=DECIMALS):
    """Posteriors rounded to ``decimals`` decimals so that every row still sums to 1 exactly.

    Each row is normalised, rounded, and the rounding remainder (a few units of the last
    decimal) is given to the row's largest value, so the written numbers add up to 1.

    Parameters
    ----------
    proba : array-like of shape (n_frames, n_classes)
    decimals : int, default=6

    Returns
    -------
    units : ndarray of shape (n_frames, n_classes), int64
        The posteriors in units of ``10**-decimals``; each row sums to ``10**decimals``.

    Examples
    --------
    >>> rounded_posteriors([[1, 1, 1], [0.2, 0.3, 0.5]]).tolist()
    [[333334, 333333, 333333], [200000, 300000, 500000]]
    """
    proba = np.asarray(proba, dtype=np.float64)
    total = proba.sum(axis=1, keepdims=True)
    if not np.all(np.isfinite(proba)) or np.any(proba < 0) or np.any(total <= 0):
        raise ValueError("posteriors must be finite, non-negative, with a positive sum in every row")
    scale = 10**decimals
    units = np.rint(proba / total * scale).astype(np.int64)
    largest = proba.argmax(axis=1)
    units[np.arange(len(units)), largest] += scale - units.sum(axis=1)
    return units


def _format_units(units, decimals=DECIMALS):
    """Decimal strings of ``units / 10**decimals``, exact (no float formatting)."""
    scale = 10**decimals
    whole, fraction = np.divmod(units, scale)
    return np.char.add(np.char.add(whole.astype(str), "."), np.char.zfill(fraction.astype(str), decimals))


def posterior_frame(time, proba):
    """The frame posteriors as a DataFrame: ``Time``, then one column per emotion.

    Parameters
    ----------
    time : array-like of shape (n_frames,)
        Frame times (numbers or the template's strings).
    proba : array-like of shape (n_frames, 6)
        In the order of :data:`~emo_gbm.constants.EMOTIONS`; each row is normalised to sum to 1.

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> posterior_frame([0.0, 0.01], [[1, 0, 0, 0, 0, 3]] * 2).iloc[0].tolist()
    [0.0, 0.25, 0.0, 0.0, 0.0, 0.0, 0.75]
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != len(EMOTIONS) or proba.shape[0] != len(time):
        raise ValueError(f"need posteriors of shape ({len(time)}, {len(EMOTIONS)}), got {proba.shape}")
    proba = proba / proba.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(proba, columns=list(EMOTIONS))
    frame.insert(0, "Time", np.asarray(time))
    return frame


def _render_csv(header, times, proba):
    cells = _format_units(rounded_posteriors(proba))
    rows = np.asarray(times, dtype=object)
    for k in range(cells.shape[1]):
        rows = rows + "," + cells[:, k].astype(object)
    return header + "\n" + "".join(row + "\n" for row in rows)


def write_posteriors(frame_proba, data_dir, split, out_dir, fmt="csv"):
    """Write the frame posteriors of every template of a split, one file per template.

    CSV (``OUT/<id>.csv``): the template's header and ``Time`` strings as written, the six
    posteriors with :data:`DECIMALS` decimals, each row summing to 1 (:func:`rounded_posteriors`).
    Parquet (``OUT/<id>.parquet``): ``Time`` as the template's strings, the six posteriors as
    float64 (unrounded, each row normalised to sum to 1).

    The write is atomic: the files are written into a temporary folder beside ``out_dir``,
    which then replaces it, so ``out_dir`` only ever holds a complete set (and nothing else).

    Parameters
    ----------
    frame_proba : dict of str to ndarray of shape (n_frames, 6)
        Recording id -> posteriors per template row (e.g. :func:`~emo_gbm.workflow.predict_frame_proba`).
    data_dir : str or os.PathLike
        Dataset root; the templates are ``DATA/SPLIT/prediction/*.csv``.
    split : str
    out_dir : str or os.PathLike
    fmt : {"csv", "parquet"}, default="csv"

    Returns
    -------
    paths : list of pathlib.Path
        The files written, in template order.

    Raises
    ------
    ValueError
        A template without posteriors, or posteriors of another length than its template.
        Nothing is written then.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "test" / "prediction").mkdir(parents=True)
    >>> _ = (root / "test" / "prediction" / "id00000001.csv").write_text(
    ...     "Time,Anger,Sad,Disgust,Happy,Scared,Neutral\\n7.50,0,0,0,0,0,0\\n7.51,0,0,0,0,0,0\\n")
    >>> paths = write_posteriors({"id00000001": [[1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 3]]}, root, "test", root / "out")
    >>> print(paths[0].read_text(), end="")
    Time,Anger,Sad,Disgust,Happy,Scared,Neutral
    7.50,0.166665,0.166667,0.166667,0.166667,0.166667,0.166667
    7.51,0.000000,0.000000,0.000000,0.000000,0.250000,0.750000
    """
    from emo_gbm.submission import template_paths

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    templates = template_paths(data_dir, split)
    missing = [p.stem for p in templates if p.stem not in frame_proba]
    if missing:
        raise ValueError(f"{len(missing)} template(s) of {split} have no posteriors, e.g. {', '.join(missing[:5])}")
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        folder = staging / "posteriors"
        folder.mkdir()
        names = [_write_posterior_file(folder, path, frame_proba[path.stem], fmt) for path in templates]
        if out_dir.exists():
            os.replace(out_dir, staging / "previous")
        os.replace(folder, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / name for name in names]


def _write_posterior_file(folder, template, proba, fmt):
    """Write the posteriors ``proba`` of one template's rows into ``folder`` as
    ``fmt`` (see :func:`write_posteriors`); returns the file's name.

    Raises
    ------
    ValueError
        ``proba`` is not of shape (rows of the template, 6).
    """
    from emo_gbm.submission import read_template_lines

    header, times = read_template_lines(template)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape != (len(times), len(EMOTIONS)):
        raise ValueError(
            f"posteriors of {template.stem} have shape {proba.shape}, its template {template} has {len(times)} rows"
        )
    if fmt == "csv":
        name = template.name
        (folder / name).write_text(_render_csv(header, times, proba), encoding="utf-8")
    else:
        name = f"{template.stem}.parquet"
        posterior_frame(times, proba).to_parquet(folder / name, index=False)
    return name


def recording_from_frames(rec_id, time, streams):
    """A :class:`~emo_gbm.data.recording.Recording` from DataFrames, aligned as files are read.

    Each stream is treated like a modality file: rows sorted by ``Time`` (a repeated time keeps
    its first row), values beyond float32's range or infinite made missing, aligned to the
    frame grid by timestamp at the rate measured from its ``Time`` column
    (:func:`~emo_gbm.data.io.align_stream`, :func:`~emo_gbm.data.io.measured_rate`); rows whose
    features are all 0 or NaN are missing, as in the data contract.

    Parameters
    ----------
    rec_id : str
    time : array-like of shape (n_frames,)
        The frame grid in seconds (the template's or labels' ``Time``).
    streams : dict of str to DataFrame
        Modality -> a DataFrame with a ``Time`` column (seconds) and the feature columns, named
        as in the training data's headers (for ``eyes`` and ``face_nn``, whose files have no
        header, any names: their columns are matched by position). A modality left out is
        absent from the recording.

    Returns
    -------
    Recording

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> physio = pd.DataFrame({"Time": np.arange(0, 1, 1 / 32), "eda": 1.0, "bvp": 2.0})
    >>> rec = recording_from_frames("id00000001", np.arange(100) / 100, {"physio": physio})
    >>> rec.columns["physio"], rec.rates["physio"], rec.streams["physio"].shape, bool(rec.present["physio"].all())
    (('eda', 'bvp'), 32.0, (100, 2), True)
    """
    from emo_gbm.data.io import align_stream, measured_rate

    time = np.asarray(time, dtype=np.float64)
    aligned, present, columns, rates = {}, {}, {}, {}
    for modality in order_modalities(streams):
        frame = streams[modality]
        if "Time" not in frame.columns:
            raise ValueError(f"the {modality} DataFrame has no 'Time' column")
        features = frame.drop(columns="Time")
        sample_times = pd.to_numeric(frame["Time"], errors="raise").to_numpy(np.float64)
        if not np.all(np.isfinite(sample_times)):
            raise ValueError(f"the {modality} DataFrame has a missing or non-finite Time")
        with np.errstate(over="ignore", invalid="ignore"):
            values = features.to_numpy(np.float64).astype(np.float32)
        values[~np.isfinite(values)] = np.nan
        order = np.argsort(sample_times, kind="stable")
        sample_times, values = sample_times[order], values[order]
        first = np.concatenate(([True], np.diff(sample_times) > 0)) if len(sample_times) else np.zeros(0, bool)
        sample_times, values = sample_times[first], values[first]
        rates[modality] = measured_rate(sample_times, default=RATES.get(modality, FRAME_RATE))
        aligned[modality], present[modality] = align_stream(sample_times, values, time, rates[modality])
        columns[modality] = tuple(str(c) for c in features.columns)
    return Recording(rec_id, time, aligned, present, columns=columns, rates=rates)


def predict_posteriors(pipeline, recording, hop=None):
    """Frame posteriors of one recording from a fitted pipeline, as a DataFrame.

    The recording is cut into windows by the pipeline's fitted featurizer (``featurizer_``:
    the train columns; a modality the recording lacks is absent) with the hop of the test
    splits (:data:`~emo_gbm.workflow.PREDICT_HOP`), and its frame posteriors are those of the
    pipeline's smoother (:meth:`~pipelines.FramePipeline.predict_frame_proba`): the same
    numbers ``emo-gbm predict`` writes for a recording with the same data.

    Parameters
    ----------
    pipeline : pipelines.FramePipeline
        Fitted (e.g. ``emo_gbm.modelio.load_model("build/models/stacked_gbm.skops")``).
    recording : Recording
        E.g. from :func:`recording_from_frames` or :func:`~emo_gbm.data.io.load_recording`.
    hop : int, optional
        Window hop in frames; default :data:`~emo_gbm.workflow.PREDICT_HOP`.

    Returns
    -------
    DataFrame
        ``Time`` (the recording's frame grid), then the six emotions' posteriors (each row sums
        to 1), one row per frame.

    Examples
    --------
    A pipeline trained on a tiny dataset with audio and a physiological stream, then asked
    for the posteriors of a recording given as DataFrames:

    >>> import numpy as np, pandas as pd
    >>> from emo_gbm.features import WindowFeaturizer
    >>> from emo_gbm.pipelines import get_pipeline
    >>> rng = np.random.default_rng(0)
    >>> def recording(k):
    ...     y = k % 2  # Anger or Sad, for the whole recording
    ...     audio = pd.DataFrame(rng.normal(y, 1, (800, 3)), columns=["F0", "loudness", "mfcc1"])
    ...     audio.insert(0, "Time", np.arange(800) / 100)
    ...     physio = pd.DataFrame({"Time": np.arange(256) / 32, "eda": rng.normal(y, 1, 256)})
    ...     rec = recording_from_frames(f"id{k:08x}", np.arange(800) / 100, {"audio": audio, "physio": physio})
    ...     rec.labels, rec.agreement = np.full(800, y, np.int8), np.ones(800, np.float32)
    ...     rec.meta = {"actor": k % 6}
    ...     return rec
    >>> train = [recording(k) for k in range(24)]
    >>> windows = WindowFeaturizer(hop=100).fit_transform(train)
    >>> frames = pd.DataFrame({"rec_id": np.repeat([r.rec_id for r in train], 800),
    ...                        "label": np.concatenate([r.labels for r in train]),
    ...                        "agreement": np.concatenate([r.agreement for r in train])})
    >>> pipe = get_pipeline("early_fusion").fit(windows, frames)
    >>> posteriors = predict_posteriors(pipe, recording(99))
    >>> posteriors.shape, list(posteriors.columns)
    ((800, 7), ['Time', 'Anger', 'Sad', 'Disgust', 'Happy', 'Scared', 'Neutral'])
    >>> bool(np.allclose(posteriors.iloc[:, 1:].sum(axis=1), 1))
    True
    """
    from sklearn.base import clone

    from emo_gbm.workflow import PREDICT_HOP

    featurizer = getattr(pipeline, "featurizer_", None)
    if featurizer is None:
        raise ValueError("the pipeline is not fitted (it has no featurizer_)")
    featurizer = clone(featurizer).set_params(hop=PREDICT_HOP if hop is None else hop, n_jobs=1)
    featurizer.fit_schema(pipeline.featurizer_.columns_)
    windows = featurizer.transform([recording])
    proba = pipeline.predict_frame_proba(windows, {recording.rec_id: recording.n_frames})[recording.rec_id]
    return posterior_frame(recording.time, proba)
