"""Loading recordings: every modality of a recording read and aligned to its frame grid."""

import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from emo_gbm.constants import ANSWERS_DIR, FRAME_RATE, LABELS_DIR, RATES, TEMPLATES_DIR
from emo_gbm.data._align import TIME_TOLERANCE, align_stream, measured_rate
from emo_gbm.data._grid_files import read_labels, read_template
from emo_gbm.data._layout import _check_split, _grid_dir, _meta_for, list_recordings, read_meta
from emo_gbm.data._modality_files import read_modality
from emo_gbm.data._schema import _split_columns
from emo_gbm.data.recording import Recording
from emo_gbm.errors import BadFileWarning, DataFormatError


def _check_same_grid(answers_path, answer_time, template_time):
    if answer_time.shape != template_time.shape:
        raise DataFormatError(
            answers_path, f"{answer_time.shape[0]} rows, but the template has {template_time.shape[0]}"
        )
    mismatch = np.flatnonzero(np.abs(answer_time - template_time) > TIME_TOLERANCE)
    if mismatch.size:
        row = mismatch[0]
        raise DataFormatError(
            answers_path,
            f"Time {answer_time[row]!r} does not match the template's {template_time[row]!r} (data row {row + 1})",
        )


def warn_bad_files(errors):
    """One :class:`BadFileWarning` per skipped file, attributed to the caller of the public loader."""
    for error in errors:
        warnings.warn(str(error), BadFileWarning, stacklevel=3)


def _load_recording(data_dir, split, rec_id, with_answers, skip_bad_files, meta, columns):
    """Load one recording; return it and the errors of the modality files skipped as bad.

    ``columns``: modality -> the feature columns its files must have. Skipped files are
    returned, not warned about, so that the caller can warn in its own process and thread
    (warnings in a worker process would be lost).
    """
    split_dir = Path(data_dir) / split
    labels = agreement = None
    if split == "train":
        time, labels, agreement = read_labels(split_dir / LABELS_DIR / f"{rec_id}.csv")
    else:
        time = read_template(split_dir / TEMPLATES_DIR / f"{rec_id}.csv")
        answers_path = Path(data_dir) / ANSWERS_DIR / split / f"{rec_id}.csv"
        if with_answers and answers_path.is_file():
            answer_time, labels, agreement = read_labels(answers_path)
            _check_same_grid(answers_path, answer_time, time)
    streams, present, rates, skipped = {}, {}, {}, []
    for modality, names in columns.items():
        path = split_dir / modality / f"{rec_id}.csv"
        if path.is_file():
            try:
                sample_times, values = read_modality(path, modality, names)
            except DataFormatError as error:
                if not skip_bad_files:
                    raise
                skipped.append(error)
            else:
                rates[modality] = measured_rate(sample_times, default=RATES.get(modality, FRAME_RATE))
                streams[modality], present[modality] = align_stream(sample_times, values, time, rates[modality])
                continue
        streams[modality] = np.full((len(time), len(names)), np.nan, dtype=np.float32)
        present[modality] = np.zeros(len(time), dtype=bool)
    recording = Recording(rec_id, time, streams, present, labels, agreement, dict(meta), dict(columns), rates)
    return recording, skipped


def load_recording(data_dir, split, rec_id, with_answers=True, skip_bad_files=False, columns=None):
    """Load one recording, every modality aligned to its 100 fps frame grid.

    Parameters
    ----------
    data_dir : str or os.PathLike
        The dataset root.
    split : {"train", "test", "private_test"}
    rec_id : str
        File name without ``.csv``.
    with_answers : bool, default=True
        For test splits, read labels and agreement from ``answers/SPLIT/<id>.csv`` when it exists.
    skip_bad_files : bool, default=False
        Treat a bad modality file as absent, with a :class:`BadFileWarning`. Bad label and
        template files always raise.
    columns : dict of str to sequence of str, optional
        Modality -> the feature columns its file must have (e.g. those of the train split,
        ``Recording.columns``); a modality missing from the split, or a folder not named
        here, is warned about. None: every modality folder of the split, with the columns
        most of its files have (:func:`read_split_columns`).

    Returns
    -------
    Recording
        Absent modality files give all-NaN streams and all-False ``present``. ``meta`` holds
        ``session`` and ``actor`` when ``meta.csv`` lists the id; ``columns`` the feature
        names of each modality; ``rates`` the rate measured from each file's Time column.

    Raises
    ------
    DataFormatError
        For a bad file (file and line in the message), including a modality file whose
        feature columns differ from its modality's.
    FileNotFoundError
        When the label file (train) or the template (test splits) does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "train" / "labels").mkdir(parents=True)
    >>> _ = (root / "train" / "labels" / "id00000001.csv").write_text(
    ...     "Time,Anger,Sad,Disgust,Happy,Scared,Neutral,Agreement score\\n"
    ...     "5.00,0,1,0,0,0,0,0.9\\n5.01,0,1,0,0,0,0,0.9\\n5.02,0,1,0,0,0,0,0.9\\n")
    >>> (root / "train" / "eyes").mkdir()
    >>> _ = (root / "train" / "eyes" / "id00000001.csv").write_text("not data\\n5.01,1,2,3,4,1,0\\n")
    >>> rec = load_recording(root, "train", "id00000001")
    >>> rec.present["eyes"].tolist(), rec.streams["eyes"].shape, sorted(rec.streams)
    ([False, True, True], (3, 6), ['eyes'])
    """
    _check_split(split)
    meta = _meta_for(read_meta(data_dir), rec_id)
    columns, skipped = _split_columns(data_dir, split, skip_bad_files, columns)
    recording, more = _load_recording(data_dir, split, rec_id, with_answers, skip_bad_files, meta, columns)
    warn_bad_files(skipped + more)
    return recording


def split_plan(data_dir, split, skip_bad_files=False, columns=None):
    """What loading a split needs, before any recording is read: its recording ids (in
    :func:`list_recordings` order), each one's ``meta.csv`` entry, the feature columns to load
    (``columns`` matched against the split's folders, or the split's own, see :func:`load_split`)
    and the errors of modality folders skipped as bad.

    Returns
    -------
    ids : list of str
    metas : dict of str to dict
    columns : dict of str to tuple of str
    skipped : list of DataFormatError
    """
    ids = list_recordings(data_dir, split)
    meta = read_meta(data_dir)
    columns, skipped = _split_columns(data_dir, split, skip_bad_files, columns)
    return ids, {rec_id: _meta_for(meta, rec_id) for rec_id in ids}, columns, skipped


def load_one(data_dir, split, rec_id, with_answers, skip_bad_files, meta, columns):
    """Load one recording of a split planned by :func:`split_plan` (safe in a worker process):
    the recording, or None for a train recording whose bad label file is skipped, and the
    errors of the files skipped as bad (to warn about in the caller's process)."""
    try:
        return _load_recording(data_dir, split, rec_id, with_answers, skip_bad_files, meta, columns)
    except DataFormatError as error:
        label_path = _grid_dir(data_dir, split) / f"{rec_id}.csv"
        if not (skip_bad_files and split == "train" and error.path == str(label_path)):
            raise
        return None, [error]


def load_split(data_dir, split, n_jobs=1, with_answers=True, skip_bad_files=False, progress=False, columns=None):
    """Load every recording of a split, in :func:`list_recordings` order.

    Parameters
    ----------
    data_dir : str or os.PathLike
        The dataset root.
    split : {"train", "test", "private_test"}
    n_jobs : int, default=1
        Parallel jobs (joblib threads, unless the caller configured another backend with
        ``joblib.parallel_config``); the result does not depend on it.
    with_answers : bool, default=True
        See :func:`load_recording`.
    skip_bad_files : bool, default=False
        Skip bad modality files (see :func:`load_recording`) and, for train, drop a recording
        whose label file is bad; each skip issues a :class:`BadFileWarning`.
    progress : bool, default=False
        Show a tqdm progress bar.
    columns : dict of str to sequence of str, optional
        Modality -> the feature columns its files must have, e.g. those of the train split
        (``Recording.columns`` of a train recording): a test split is then read with the
        train's modalities, a modality without a folder in the split is absent (with a
        warning naming it) and a folder not named here is ignored (with a warning). None:
        every modality folder of the split, with the columns most of its files have
        (:func:`read_split_columns`); every file must have them.

    Returns
    -------
    list of Recording

    Raises
    ------
    DataFormatError
        At the first bad file not skipped.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "test" / "prediction").mkdir(parents=True)
    >>> for rec_id in ("id00000002", "id00000001"):
    ...     _ = (root / "test" / "prediction" / f"{rec_id}.csv").write_text(
    ...         "Time,Anger,Sad,Disgust,Happy,Scared,Neutral\\n0.50,0,0,0,0,0,0\\n0.51,0,0,0,0,0,0\\n")
    >>> recordings = load_split(root, "test", n_jobs=2)
    >>> [r.rec_id for r in recordings], recordings[0].n_frames, recordings[0].labels is None
    (['id00000001', 'id00000002'], 2, True)
    """
    ids, metas, columns, skipped_modalities = split_plan(data_dir, split, skip_bad_files, columns)
    warn_bad_files(skipped_modalities)
    tasks = (
        delayed(load_one)(data_dir, split, rec_id, with_answers, skip_bad_files, metas[rec_id], columns)
        for rec_id in ids
    )
    # threads by default: pyarrow parses without the GIL, and threads spare the pickling of
    # every aligned recording back from a worker process; a joblib backend set by the caller wins
    results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(tasks)
    if progress:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(ids), desc=f"loading {split}", unit="rec")
    recordings = []
    for recording, skipped in results:
        warn_bad_files(skipped)
        if recording is not None:
            recordings.append(recording)
    return recordings
