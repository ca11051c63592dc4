"""Submissions: write one prediction file per template, zip them, and check a submission.

A submission holds ``prediction/<id>.csv`` for every template of a test split, with the
template's header, rows and ``Time`` strings unchanged and exactly one ``1`` per row, zipped
as ``submission.zip`` with the folder ``prediction/`` at its root.
"""

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .constants import ANSWERS_DIR, EMOTIONS, TEMPLATES_DIR
from .errors import DataFormatError

N_CLASSES = len(EMOTIONS)
TEMPLATE_HEADER = ",".join(("Time",) + EMOTIONS)
# Fixed zip entry time: the same predictions give the same submission.zip, byte for byte.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _onehot_suffixes():
    rows = []
    for k in range(N_CLASSES):
        cells = ["0"] * N_CLASSES
        cells[k] = "1"
        rows.append("," + ",".join(cells))
    return rows


def template_paths(data_dir, split):
    """Sorted template files ``DATA/SPLIT/prediction/*.csv``.

    Raises
    ------
    FileNotFoundError
        If the split has no ``prediction/`` folder.
    """
    folder = Path(data_dir) / split / TEMPLATES_DIR
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no submission templates (folder missing)")
    return sorted(folder.glob("*.csv"))


def read_template_lines(path):
    """Header and ``Time`` strings of a template, exactly as written in the file.

    Returns
    -------
    header : str
    times : list of str
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"cannot read template ({exc.__class__.__name__})") from None
    lines = text.splitlines()
    if not lines:
        raise DataFormatError(path, "empty template")
    header = lines[0].strip()
    if header != TEMPLATE_HEADER:
        raise DataFormatError(path, f"template header must be '{TEMPLATE_HEADER}', found '{header}'", line=1)
    times = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split(",")
        if len(cells) != N_CLASSES + 1:
            raise DataFormatError(path, f"expected {N_CLASSES + 1} cells, found {len(cells)}", line=number)
        times.append(cells[0].strip())
    if not times:
        raise DataFormatError(path, "template has a header but no rows")
    return header, times


def _render(header, times, labels):
    suffixes = _onehot_suffixes()
    return header + "\n" + "".join(t + suffixes[k] + "\n" for t, k in zip(times, labels.tolist()))


def _zip_folder(prediction_dir, zip_path):
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        directory = zipfile.ZipInfo(f"{TEMPLATES_DIR}/", date_time=_ZIP_DATE)
        directory.external_attr = 0o40755 << 16
        archive.writestr(directory, b"")
        for path in sorted(Path(prediction_dir).glob("*.csv")):
            info = zipfile.ZipInfo(f"{TEMPLATES_DIR}/{path.name}", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), compresslevel=6)


def write_submission(predictions, data_dir, split, out_dir):
    """Write ``OUT/submission/prediction/<id>.csv`` for every template and ``OUT/submission.zip``.

    The write is atomic: everything is built in a temporary folder beside the target and moved
    into place only when complete, so a crash never leaves a half-written submission.

    Parameters
    ----------
    predictions : dict of str to array of int
        Recording id -> class index (0..5) per template row, in template order.
    data_dir : path
        Dataset root; the templates are ``data_dir/split/prediction/*.csv``.
    split : str
        ``"test"`` or ``"private_test"``.
    out_dir : path
        Where ``submission/`` and ``submission.zip`` go.

    Returns
    -------
    pathlib.Path
        The path of ``submission.zip``.

    Raises
    ------
    ValueError
        If a template has no prediction, or a prediction has the wrong length or a class
        outside 0..5. Nothing is written then.
    """
    templates = template_paths(data_dir, split)
    missing = [p.stem for p in templates if p.stem not in predictions]
    if missing:
        raise ValueError(
            f"{len(missing)} template(s) of {split} have no prediction, e.g. {', '.join(missing[:5])}"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".submission-", dir=out_dir))
    try:
        folder = staging / "submission" / TEMPLATES_DIR
        folder.mkdir(parents=True)
        for path in templates:
            header, times = read_template_lines(path)
            labels = np.asarray(predictions[path.stem]).astype(np.int64).ravel()
            if labels.shape[0] != len(times):
                raise ValueError(
                    f"prediction for {path.stem} has {labels.shape[0]} frames, its template {path} has {len(times)}"
                )
            if labels.size and (labels.min() < 0 or labels.max() >= N_CLASSES):
                raise ValueError(f"prediction for {path.stem} has a class outside 0..{N_CLASSES - 1}")
            (folder / path.name).write_text(_render(header, times, labels), encoding="utf-8")
        _zip_folder(folder, staging / "submission.zip")
        final_dir, final_zip = out_dir / "submission", out_dir / "submission.zip"
        if final_dir.exists():
            old = staging / "previous"
            os.replace(final_dir, old)
        os.replace(staging / "submission", final_dir)
        os.replace(staging / "submission.zip", final_zip)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final_zip


def _read_submission_files(submission):
    """Map ``<id>.csv`` -> (display name, text) for a zip or a folder holding ``prediction/``."""
    submission = Path(submission)
    files = {}
    if submission.is_file():
        try:
            with zipfile.ZipFile(submission) as archive:
                for name in archive.namelist():
                    parts = name.split("/")
                    if len(parts) == 2 and parts[0] == TEMPLATES_DIR and parts[1].endswith(".csv"):
                        files[parts[1]] = (f"{submission}:{name}", archive.read(name))
        except zipfile.BadZipFile:
            raise DataFormatError(submission, "not a zip file") from None
        if not files:
            raise DataFormatError(submission, f"no {TEMPLATES_DIR}/<id>.csv entries at the root of the zip")
    elif submission.is_dir():
        folder = submission / TEMPLATES_DIR if (submission / TEMPLATES_DIR).is_dir() else submission
        for path in sorted(folder.glob("*.csv")):
            files[path.name] = (str(path), path.read_bytes())
    else:
        raise FileNotFoundError(f"{submission}: no such submission file or folder")
    return files


def _parse_prediction(display, raw, header, times):
    """Class index per row of one submitted file, checked against its template."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataFormatError(display, "not UTF-8 text") from None
    lines = [line for line in text.splitlines()]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or lines[0].strip() != header:
        raise DataFormatError(display, f"header must be the template's '{header}'", line=1)
    if len(lines) - 1 != len(times):
        raise DataFormatError(display, f"{len(lines) - 1} rows, the template has {len(times)}")
    labels = np.empty(len(times), dtype=np.int8)
    for i, (line, expected_time) in enumerate(zip(lines[1:], times)):
        cells = line.split(",")
        number = i + 2
        if len(cells) != N_CLASSES + 1:
            raise DataFormatError(display, f"expected {N_CLASSES + 1} cells, found {len(cells)}", line=number)
        if cells[0].strip() != expected_time:
            raise DataFormatError(
                display, f"Time '{cells[0].strip()}' differs from the template's '{expected_time}'", line=number
            )
        values = [c.strip() for c in cells[1:]]
        if sorted(values) != ["0"] * (N_CLASSES - 1) + ["1"]:
            raise DataFormatError(display, "a row needs exactly one 1 and five 0 among the emotions", line=number)
        labels[i] = values.index("1")
    return labels


def check_submission(submission, data_dir, split="test"):
    """Validate a submission against the templates and score it where answers exist.

    Parameters
    ----------
    submission : path
        ``submission.zip``, or a folder holding ``prediction/`` (or the ``prediction`` folder).
    data_dir : path
        Dataset root with ``SPLIT/prediction/`` templates and optionally ``answers/SPLIT/``.
    split : str, default "test"

    Returns
    -------
    dict
        ``recordings`` and ``frames`` checked, and, when ``answers/SPLIT`` exists, the scores of
        :func:`emo_gbm.metrics.score_recordings` under ``scores``.

    Raises
    ------
    DataFormatError
        At the first problem, naming the submitted file and line: a template without a
        prediction file, an extra file, a changed header or ``Time``, a row without exactly one 1.
    """
    from .io import read_labels
    from .metrics import score_recordings

    templates = template_paths(data_dir, split)
    files = _read_submission_files(submission)
    template_names = {p.name for p in templates}
    absent = sorted(template_names - set(files))
    if absent:
        raise DataFormatError(
            submission, f"{len(absent)} template(s) have no prediction file, e.g. {', '.join(absent[:5])}"
        )
    extra = sorted(set(files) - template_names)
    if extra:
        raise DataFormatError(submission, f"{len(extra)} file(s) match no template, e.g. {', '.join(extra[:5])}")
    predictions, frames = {}, 0
    for path in templates:
        header, times = read_template_lines(path)
        display, raw = files[path.name]
        predictions[path.stem] = _parse_prediction(display, raw, header, times)
        frames += len(times)
    result = {"split": split, "recordings": len(templates), "frames": frames}
    answers_dir = Path(data_dir) / ANSWERS_DIR / split
    if answers_dir.is_dir():
        truths = {}
        for path in templates:
            answer = answers_dir / path.name
            if not answer.is_file():
                raise DataFormatError(answer, "answer file missing for this template")
            time, labels, agreement = read_labels(answer)
            if len(labels) != len(predictions[path.stem]):
                raise DataFormatError(answer, f"{len(labels)} rows, the template has {len(predictions[path.stem])}")
            truths[path.stem] = (labels, agreement)
        result["scores"] = score_recordings(predictions, truths)
    return result
