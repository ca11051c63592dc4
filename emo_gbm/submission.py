"""Submissions: write one prediction file per template, zip them, and check a submission.

A submission holds ``prediction/<id>.csv`` for every template of a test split, with the
template's header, rows and ``Time`` strings unchanged and exactly one ``1`` per row, zipped
as ``submission.zip`` with the folder ``prediction/`` at its root.
"""

import lzma
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from emo_gbm.constants import ANSWERS_DIR, EMOTIONS, N_CLASSES, TEMPLATES_DIR
from emo_gbm.errors import DataFormatError
from emo_gbm.data.io import LABEL_HEADER, csv_files, read_grid_lines
from emo_gbm.data.io import TEMPLATE_HEADER as TEMPLATE_COLUMNS

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
    """Sorted template files ``DATA/SPLIT/prediction/<id>.csv`` (dot-files ignored, as everywhere).

    Raises
    ------
    FileNotFoundError
        If the split has no ``prediction/`` folder.
    """
    folder = Path(data_dir) / split / TEMPLATES_DIR
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no submission templates (folder missing)")
    return list(csv_files(folder).values())


def read_template_lines(path):
    """Header and ``Time`` strings of a template, as :func:`emo_gbm.data.io.read_grid_lines` parses them.

    Returns
    -------
    header : str
    times : list of str
    """
    header, times, _ = read_grid_lines(path, TEMPLATE_COLUMNS)
    return header, times


def _render(header, times, labels):
    suffixes = _onehot_suffixes()
    return header + "\n" + "".join(t + suffixes[k] + "\n" for t, k in zip(times, labels.tolist()))


def _zip_folder(prediction_dir, zip_path):
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        directory = zipfile.ZipInfo(f"{TEMPLATES_DIR}/", date_time=_ZIP_DATE)
        directory.external_attr = 0o40755 << 16
        archive.writestr(directory, b"")
        for path in csv_files(prediction_dir).values():
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


#: A submitted file may be at most this many times its template's size (plus the margin below)
#: once decompressed: a prediction row is as long as its template row, so anything far larger
#: is not a prediction, and is never read into memory whole.
SIZE_FACTOR = 4
SIZE_MARGIN = 64 * 1024
_CHUNK = 1 << 20
_ZIP_METHODS = {
    zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma",
}
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, RuntimeError,
                  NotImplementedError, ValueError)


def size_limit(template):
    """Largest decompressed size (bytes) accepted for the prediction of ``template``."""
    return SIZE_FACTOR * Path(template).stat().st_size + SIZE_MARGIN


def _read_bounded(stream, display, limit):
    """Read a binary stream in chunks, stopping with an error as soon as it exceeds ``limit`` bytes."""
    chunks, total = [], 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise DataFormatError(display, f"more than {limit} bytes once decompressed, far more than its template "
                                           f"implies; not read further")
        chunks.append(chunk)


class _Submission:
    """The ``prediction/<id>.csv`` files of a submission zip or folder, read on demand.

    A zip must hold only ``prediction/`` and ``prediction/<id>.csv`` members (dot-files in
    ``prediction/`` are ignored, as by every stage), each once.
    """

    def __init__(self, submission):
        self.path = Path(submission)
        self.archive = None
        self.members = {}  # id -> ZipInfo or Path
        if self.path.is_file():
            self._open_zip()
        elif self.path.is_dir():
            folder = self.path / TEMPLATES_DIR if (self.path / TEMPLATES_DIR).is_dir() else self.path
            self.members = csv_files(folder)
        else:
            raise FileNotFoundError(f"{self.path}: no such submission file or folder")

    def _open_zip(self):
        try:
            self.archive = zipfile.ZipFile(self.path)
            infos = self.archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise DataFormatError(self.path, f"not a zip file ({exc})" if str(exc) else "not a zip file") from None
        seen, outside = set(), []
        for info in infos:
            name = info.filename
            if name in seen:
                raise DataFormatError(self.path, f"member {name} appears twice in the zip (which copy counts would "
                                                 f"be ambiguous)")
            seen.add(name)
            folder, _, base = name.partition("/")
            if folder == TEMPLATES_DIR and "/" not in base and "\\" not in base:
                if base == "" or base.startswith("."):
                    continue  # the folder entry; dot-files are not predictions
                if base.endswith(".csv") and not info.is_dir():
                    self.members[base[:-4]] = info
                    continue
            outside.append(name)
        if outside:
            raise DataFormatError(self.path, f"{len(outside)} member(s) are not {TEMPLATES_DIR}/<id>.csv: "
                                             f"{', '.join(outside[:5])}{', ...' if len(outside) > 5 else ''}")
        if not self.members:
            raise DataFormatError(self.path, f"no {TEMPLATES_DIR}/<id>.csv entries at the root of the zip")

    def display(self, rec_id):
        member = self.members[rec_id]
        return str(member) if isinstance(member, Path) else f"{self.path}:{member.filename}"

    def read(self, rec_id, limit):
        """Bytes of one file, never more than ``limit`` of them (else a :class:`DataFormatError`)."""
        member, display = self.members[rec_id], self.display(rec_id)
        if isinstance(member, Path):
            try:
                with open(member, "rb") as stream:
                    return _read_bounded(stream, display, limit)
            except OSError as exc:
                raise DataFormatError(display, f"cannot read ({exc.strerror or exc})") from None
        if member.flag_bits & 0x1:
            raise DataFormatError(display, "encrypted zip member; a submission must not be encrypted")
        if member.compress_type not in _ZIP_METHODS:
            raise DataFormatError(display, f"unsupported compression method {member.compress_type} (use deflate)")
        if member.file_size > limit:
            raise DataFormatError(display, f"{member.file_size} bytes once decompressed, more than the {limit} its "
                                           f"template implies; not read")
        try:
            with self.archive.open(member) as stream:
                return _read_bounded(stream, display, limit)
        except DataFormatError:
            raise
        except _MEMBER_ERRORS as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataFormatError(display, f"corrupt or unreadable zip member ({reason})") from None

    def close(self):
        if self.archive is not None:
            self.archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _parse_prediction(display, raw, header, times):
    """Class index per row of one submitted file, checked against its template."""
    try:
        text = raw.decode("utf-8-sig")
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
    from emo_gbm.data.io import read_labels
    from emo_gbm.metrics import score_recordings

    templates = template_paths(data_dir, split)
    template_names = {p.stem for p in templates}
    with _Submission(submission) as files:
        absent = sorted(template_names - set(files.members))
        if absent:
            raise DataFormatError(
                submission, f"{len(absent)} template(s) have no prediction file, e.g. "
                            f"{', '.join(f'{a}.csv' for a in absent[:5])}"
            )
        extra = sorted(set(files.members) - template_names)
        if extra:
            raise DataFormatError(
                submission, f"{len(extra)} file(s) match no template, e.g. {', '.join(f'{e}.csv' for e in extra[:5])}"
            )
        predictions, grids, frames = {}, {}, 0
        for path in templates:
            header, times = read_template_lines(path)
            raw = files.read(path.stem, size_limit(path))
            predictions[path.stem] = _parse_prediction(files.display(path.stem), raw, header, times)
            grids[path.stem] = times
            frames += len(times)
    result = {"split": split, "recordings": len(templates), "frames": frames}
    answers_dir = Path(data_dir) / ANSWERS_DIR / split
    if answers_dir.is_dir():
        truths = {}
        for path in templates:
            answer = answers_dir / path.name
            if not answer.is_file():
                raise DataFormatError(answer, "answer file missing for this template")
            _, labels, agreement = read_labels(answer)
            _check_answer_times(answer, path, grids[path.stem])
            truths[path.stem] = (labels, agreement)
        result["scores"] = score_recordings(predictions, truths)
    return result


def _check_answer_times(answer, template, template_times):
    """The answers' ``Time`` strings must be the template's, row by row."""
    _, times, lines = read_grid_lines(answer, LABEL_HEADER)
    for time, expected, line in zip(times, template_times, lines.tolist()):
        if time != expected:
            raise DataFormatError(answer, f"Time '{time}' differs from the template's '{expected}' ({template})", line)
    if len(times) != len(template_times):
        raise DataFormatError(answer, f"{len(times)} rows, the template {template} has {len(template_times)}")
