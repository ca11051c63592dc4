"""Reading the challenge layout (``docs/data_format.md``) into aligned :class:`Recording` objects.

Files are parsed by ``pyarrow.csv`` (the fast path). When it fails, a careful pure-Python pass
re-reads the file to find the exact line and reason, so the user sees a :class:`DataFormatError`
naming file and line, never a pandas/pyarrow traceback. The careful pass also defines what is
accepted: if it finds nothing wrong with a file the fast path refused, its result is used.
"""

import csv
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from joblib import Parallel, delayed

from .constants import (
    AGREEMENT_COLUMN,
    ANSWERS_DIR,
    EMOTIONS,
    HAS_HEADER,
    LABELS_DIR,
    META_FILE,
    MODALITIES,
    N_FEATURES,
    RATES,
    SPLITS,
    TEMPLATES_DIR,
)
from .errors import BadFileWarning, DataFormatError
from .recording import Recording

#: A sample covers the frames up to this many periods of its modality's nominal rate after it;
#: 2.5 bridges the jitter of the contract (eyes/face steps up to 0.04 s at 50 fps, i.e. 2 periods).
HOLD_PERIODS = 2.5

#: Timestamps closer than this (seconds) are the same instant; absorbs float noise of parsing
#: and of shifted clocks.
TIME_TOLERANCE = 1e-6

LABEL_HEADER = ("Time",) + EMOTIONS + (AGREEMENT_COLUMN,)
TEMPLATE_HEADER = ("Time",) + EMOTIONS
META_COLUMNS = ("id", "split", "session", "actor")

_MISSING_CELLS = frozenset({"", "nan", "-nan", "+nan"})
_FIRST_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")
_LINE_END = re.compile(rb"\r\n|\r|\n")
_LINE_END_TEXT = re.compile(r"\r\n|\r|\n")


# --------------------------------------------------------------------------- raw tables


def _read_bytes(path):
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise DataFormatError(path, f"cannot read the file ({error.strerror or error})") from None


def _split_first_line(data):
    """Return the first line (without its end) and the byte offset where the body starts."""
    match = _FIRST_LINE.match(data)
    return data[: match.end()].rstrip(b"\r\n"), match.end()


def _line_of_offset(data, offset):
    return len(_LINE_END.findall(data, 0, offset)) + 1


def _decode(path, data, first_line_number=1):
    """Decode UTF-8 text; a NUL byte or invalid UTF-8 marks a binary or foreign-encoded file."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line = first_line_number - 1 + _line_of_offset(data, nul)
        raise DataFormatError(path, "contains a NUL byte: binary file, not CSV text", line)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = first_line_number - 1 + _line_of_offset(data, error.start)
        raise DataFormatError(path, "not UTF-8 text (binary file?)", line) from None


def _header_cells(path, data):
    if not data or data.isspace():
        raise DataFormatError(path, "empty file")
    first, _ = _split_first_line(data)
    text = _decode(path, first)
    try:
        return [cell.strip() for cell in next(csv.reader([text]), [])]
    except csv.Error as error:
        raise DataFormatError(path, f"cannot parse the header ({error})", 1) from None


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return "_" not in cell


def _arrow_owned(data, start):
    """``data[start:]`` copied into a buffer Arrow allocated itself.

    pyarrow's CSV reader hands its input buffer to its CPU thread pool, and a pool thread may drop
    the last reference after ``read_csv`` returned. For a buffer wrapping a Python ``bytes``
    (``pa.py_buffer``), that release must take the GIL; during interpreter exit Python kills a
    thread that asks for the GIL (``pthread_exit`` inside the C++ destructor), which ends in
    ``terminate called without an active exception`` and SIGABRT (about 1 run in 100 of a short
    command). A buffer Arrow owns is released without Python, whichever thread drops it.
    """
    stream = pa.BufferOutputStream()
    stream.write(memoryview(data)[start:])
    return stream.getvalue()


def _fast_table(body, n_cells):
    """Parse ``body`` (CSV rows without header) with pyarrow; None when anything is off."""
    read_options = pacsv.ReadOptions(autogenerate_column_names=True)
    convert_options = pacsv.ConvertOptions(
        column_types={f"f{i}": pa.float64() for i in range(n_cells)},
        null_values=[""],
        strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(pa.BufferReader(body), read_options=read_options, convert_options=convert_options)
    except pa.ArrowException:
        return None
    if table.num_columns != n_cells or table.num_rows == 0:
        return None
    values = np.empty((table.num_rows, n_cells), dtype=np.float64)
    for j, column in enumerate(table.columns):
        values[:, j] = column.to_numpy()  # float nulls come out as NaN
    return values


def _count_line_ends(data, start, end):
    """Line ends (``\\r\\n``, ``\\r`` or ``\\n``) in ``data[start:end]``, without copying it."""
    return data.count(b"\n", start, end) + data.count(b"\r", start, end) - data.count(b"\r\n", start, end)


def _body_lines(path, data, start, first_line):
    """Yield (file line number, text) for each line of ``data[start:]``, decoded one line at a time.

    Nothing but the current line is copied, so memory stays O(one line) whatever the file size.
    """
    nul = data.find(b"\x00", start)
    if nul >= 0:
        line = first_line + _count_line_ends(data, start, nul)
        raise DataFormatError(path, "contains a NUL byte: binary file, not CSV text", line)
    number, position = first_line, start
    for match in _LINE_END.finditer(data, start):
        yield number, _decode_line(path, data[position : match.start()], number)
        number, position = number + 1, match.end()
    if position < len(data):
        yield number, _decode_line(path, data[position:], number)


def _decode_line(path, raw, number):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataFormatError(path, "not UTF-8 text (binary file?)", number) from None


def _careful_rows(path, data, start, n_cells, first_line, describe_count):
    """Yield (file line, row of floats) for each data row of ``data[start:]``; raise at the first bad line.

    Streams line by line: the rows are yielded, never held, so checking a file costs O(one line).
    """
    for number, text in _body_lines(path, data, start, first_line):
        if not text.strip():
            continue  # blank lines are not rows
        if '"' in text:
            try:
                cells = next(csv.reader([text], strict=True))
            except csv.Error as error:
                raise DataFormatError(path, f"malformed CSV ({error})", number) from None
        else:
            cells = text.split(",")
        if len(cells) != n_cells:
            raise DataFormatError(path, describe_count(len(cells)), number)
        row = []
        for j, raw in enumerate(cells):
            cell = raw.strip()
            if cell.lower() in _MISSING_CELLS:
                row.append(np.nan)
            elif _is_number(cell):
                row.append(float(cell))
            else:
                raise DataFormatError(path, f"column {j + 1} is not a number: {cell[:40]!r}", number)
        yield number, row


def _careful_table(path, data, start, n_cells, body_line, describe_count):
    """Parse ``data[start:]`` cell by cell; raise at the first offending line, else return values and lines.

    ``body_line`` is the file line number of the body's first line; ``describe_count`` turns a
    wrong cell count into the message for that file kind. A first pass only checks (O(one line)
    of memory, so a bad file never costs more than its bytes); only a file found good is read
    again into the (n_rows, n_cells) array.
    """
    n_rows = sum(1 for _ in _careful_rows(path, data, start, n_cells, body_line, describe_count))
    if not n_rows:
        raise DataFormatError(path, "no data rows after the first line")
    values = np.empty((n_rows, n_cells), dtype=np.float64)
    lines = np.empty(n_rows, dtype=np.int64)
    for i, (line, row) in enumerate(_careful_rows(path, data, start, n_cells, body_line, describe_count)):
        values[i] = row
        lines[i] = line
    return values, lines


def _read_table(path, data, n_cells, describe_count):
    """Values (n_rows, n_cells) of every line after the first; line numbers only via the careful pass."""
    _, body_start = _split_first_line(data)
    values = _fast_table(_arrow_owned(data, body_start), n_cells)
    if values is None:
        values, _ = _careful_table(path, data, body_start, n_cells, 2, describe_count)
    return values


def _line_of_row(path, data, n_cells, row, describe_count):
    """File line of data row ``row`` (0-based), for errors found after a successful fast parse."""
    _, body_start = _split_first_line(data)
    for i, (line, _) in enumerate(_careful_rows(path, data, body_start, n_cells, 2, describe_count)):
        if i == row:
            return line
    raise DataFormatError(path, f"no data row {row + 1}")


def _check_times(path, data, times, n_cells, describe_count):
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        line = _line_of_row(path, data, n_cells, bad[0], describe_count)
        raise DataFormatError(path, "Time is missing or not a finite number", line)


# --------------------------------------------------------------------------- public readers


def read_modality(path, modality):
    """Read one modality file into its sample times and feature values.

    ``audio`` and ``kinect`` files start with a header row; for ``eyes`` and ``face_nn`` the first
    line is not data and is skipped. Rows are sorted by time (stable) and a repeated time keeps
    its first row. Empty and NaN cells are kept as NaN.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    modality : str
        One of :data:`~emo_gbm.constants.MODALITIES`.

    Returns
    -------
    times : ndarray of shape (n_samples,), float64
    values : ndarray of shape (n_samples, n_features), float32

    Raises
    ------
    DataFormatError
        Naming the file (and line): empty file, no data rows, wrong feature count, a row with
        the wrong number of cells, text in a numeric cell, a missing time, undecodable bytes.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "id00000001.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("eyes export\\n0.04," + ",".join(["1"] * 6) + "\\n0.00," + ",".join(["0"] * 6) + "\\n")
    >>> times, values = read_modality(path, "eyes")
    >>> times.tolist(), values.shape
    ([0.0, 0.04], (2, 6))
    """
    if modality not in N_FEATURES:
        raise ValueError(f"unknown modality {modality!r}, expected one of {MODALITIES}")
    n_features = N_FEATURES[modality]
    n_cells = n_features + 1

    def describe_count(found):
        return (f"expected {n_cells} cells (Time + {n_features} {modality} features), "
                f"found {found}")

    data = _read_bytes(path)
    if not data or data.isspace():
        raise DataFormatError(path, "empty file")
    if HAS_HEADER[modality]:
        header = _header_cells(path, data)
        if len(header) != n_cells:
            raise DataFormatError(
                path, f"header names {len(header) - 1} features, {modality} has {n_features}", 1
            )
        if _is_number(header[0]):
            raise DataFormatError(path, "first line is data, expected a header row starting with Time", 1)
    table = _read_table(path, data, n_cells, describe_count)
    times = table[:, 0]
    _check_times(path, data, times, n_cells, describe_count)
    # A value beyond float32's range (a sensor glitch such as 1e66) or an 'inf' cell carries no
    # usable measurement: it becomes a missing cell like NaN, not an inf that poisons statistics.
    with np.errstate(over="ignore", invalid="ignore"):
        values = table[:, 1:].astype(np.float32)
    values[~np.isfinite(values)] = np.nan
    steps = np.diff(times)
    if np.any(steps <= 0):
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
        first = np.concatenate(([True], np.diff(times) > 0))
        times, values = times[first], values[first]
    return np.ascontiguousarray(times), np.ascontiguousarray(values)


def _read_grid_file(path, expected_header):
    n_cells = len(expected_header)

    def describe_count(found):
        return f"expected {n_cells} cells ({','.join(expected_header)}), found {found}"

    data = _read_bytes(path)
    header = _header_cells(path, data)
    if tuple(header) != expected_header:
        raise DataFormatError(path, f"header must be {','.join(expected_header)}, found {','.join(header)}", 1)
    table = _read_table(path, data, n_cells, describe_count)
    _check_times(path, data, table[:, 0], n_cells, describe_count)
    return data, table, describe_count


def read_labels(path):
    """Read a label file (``train/labels`` or ``answers/SPLIT``).

    Parameters
    ----------
    path : str or os.PathLike
        CSV with header ``Time,Anger,Sad,Disgust,Happy,Scared,Neutral,Agreement score``.

    Returns
    -------
    time : ndarray of shape (n_frames,), float64
        The frame grid, in file order.
    labels : ndarray of shape (n_frames,), int8
        Class index (order of :data:`~emo_gbm.constants.EMOTIONS`) of the column holding the 1.
    agreement : ndarray of shape (n_frames,), float32

    Raises
    ------
    DataFormatError
        Naming file and line: a wrong header, a row without exactly one 1 among the emotion
        cells, an emotion cell other than 0/1, an agreement outside [0, 1], any malformed row.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "id00000001.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("Time,Anger,Sad,Disgust,Happy,Scared,Neutral,Agreement score\\n"
    ...                 "3.00,0,0,0,1,0,0,0.75\\n3.01,1,0,0,0,0,0,1\\n")
    >>> time, labels, agreement = read_labels(path)
    >>> time.tolist(), labels.tolist(), agreement.tolist()
    ([3.0, 3.01], [3, 0], [0.75, 1.0])
    """
    data, table, describe_count = _read_grid_file(path, LABEL_HEADER)
    n_cells = len(LABEL_HEADER)
    emotions = table[:, 1 : 1 + len(EMOTIONS)]
    agreement = table[:, -1]
    not_binary = ~np.all((emotions == 0) | (emotions == 1), axis=1)
    n_ones = np.sum(emotions == 1, axis=1)
    bad_agreement = ~((agreement >= 0) & (agreement <= 1))
    bad = np.flatnonzero(not_binary | (n_ones != 1) | bad_agreement)
    if bad.size:
        row = bad[0]
        line = _line_of_row(path, data, n_cells, row, describe_count)
        if not_binary[row]:
            reason = "emotion cells must be 0 or 1"
        elif n_ones[row] != 1:
            reason = f"expected exactly one 1 among {','.join(EMOTIONS)}, found {n_ones[row]}"
        else:
            reason = f"{AGREEMENT_COLUMN} must be in [0, 1], found {agreement[row]!r}"
        raise DataFormatError(path, reason, line)
    labels = np.argmax(emotions, axis=1).astype(np.int8)
    return np.ascontiguousarray(table[:, 0]), labels, agreement.astype(np.float32)


def read_grid_lines(path, expected_header=TEMPLATE_HEADER):
    """Header and ``Time`` strings of a template (or label) file: the one parser every stage uses.

    A UTF-8 byte-order mark is accepted and spaces around cells are stripped; the ``Time``
    strings are otherwise kept exactly as written (``"0"`` stays ``"0"``), so a submission can
    copy them. Blank lines are not rows. For templates every emotion cell must be a number.

    Parameters
    ----------
    path : str or os.PathLike
    expected_header : tuple of str, default :data:`TEMPLATE_HEADER`
        The column names the first line must hold (cells compared after stripping spaces).

    Returns
    -------
    header : str
        The expected header, comma-joined (no BOM, no spaces).
    times : list of str
        One ``Time`` string per row, in file order.
    lines : ndarray of int64
        The file line (1-based) of each row.

    Raises
    ------
    DataFormatError
        Naming file and line: unreadable or undecodable bytes, a wrong header, a row with the
        wrong number of cells, a ``Time`` that is not a finite number, a non-numeric or empty
        emotion cell in a template, no rows.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "id00000001.csv")
    >>> with open(path, "w", encoding="utf-8-sig") as f:
    ...     _ = f.write("Time, Anger,Sad,Disgust,Happy,Scared,Neutral\\n 7.50 ,0,0,0,0,0,0\\n7.51,0,0,0,0,0,0\\n")
    >>> header, times, lines = read_grid_lines(path)
    >>> times, lines.tolist()
    (['7.50', '7.51'], [2, 3])
    """
    expected_header = tuple(expected_header)
    n_cells = len(expected_header)
    check_cells = expected_header == TEMPLATE_HEADER
    data = _read_bytes(path)
    if not data or data.isspace():
        raise DataFormatError(path, "empty file")
    text = _decode(path, data)  # utf-8-sig: a BOM is dropped
    physical = _LINE_END_TEXT.split(text)
    header = tuple(cell.strip() for cell in physical[0].split(","))
    if header != expected_header:
        raise DataFormatError(
            path, f"header must be {','.join(expected_header)}, found {','.join(header)}", 1
        )
    times, lines = [], []
    for number, line in enumerate(physical[1:], start=2):
        if not line.strip():
            continue  # blank lines are not rows
        cells = line.split(",")
        if len(cells) != n_cells:
            raise DataFormatError(path, f"expected {n_cells} cells ({','.join(expected_header)}), found {len(cells)}",
                                  number)
        time = cells[0].strip()
        if not (_is_number(time) and math.isfinite(float(time))):
            raise DataFormatError(path, "Time is missing or not a finite number", number)
        if check_cells:
            for j, cell in enumerate(cells[1:], start=2):
                cell = cell.strip()
                if cell != "0" and not (_is_number(cell) and math.isfinite(float(cell))):
                    raise DataFormatError(path, f"empty, NaN or non-numeric emotion cell in a template (column {j})",
                                          number)
        times.append(time)
        lines.append(number)
    if not times:
        raise DataFormatError(path, "no data rows after the first line")
    return ",".join(expected_header), times, np.asarray(lines, dtype=np.int64)


def read_template(path):
    """Read a submission template (``SPLIT/prediction/<id>.csv``) and return its frame grid.

    Parsed by :func:`read_grid_lines`, the parser the submission writer and checker use too.

    Parameters
    ----------
    path : str or os.PathLike
        CSV with header ``Time,Anger,Sad,Disgust,Happy,Scared,Neutral``.

    Returns
    -------
    time : ndarray of shape (n_frames,), float64
        In file order.

    Raises
    ------
    DataFormatError
        Naming file and line: a wrong header, a malformed row, a non-numeric or missing cell.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "id00000001.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("Time,Anger,Sad,Disgust,Happy,Scared,Neutral\\n7.5,0,0,0,0,0,0\\n7.51,0,0,0,0,0,0\\n")
    >>> read_template(path).tolist()
    [7.5, 7.51]
    """
    _, times, _ = read_grid_lines(path, TEMPLATE_HEADER)
    return np.asarray(times, dtype=np.float64)


def read_meta(data_dir):
    """Read the optional ``DATA/meta.csv`` (synthetic data only).

    Parameters
    ----------
    data_dir : str or os.PathLike
        The dataset root.

    Returns
    -------
    pandas.DataFrame or None
        Columns ``id, split, session, actor`` (ids and splits as strings), or None when the
        file does not exist.

    Examples
    --------
    >>> import tempfile
    >>> read_meta(tempfile.mkdtemp()) is None
    True
    """
    path = Path(data_dir) / META_FILE
    if not path.is_file():
        return None
    try:
        meta = pd.read_csv(path, dtype={"id": str, "split": str}, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataFormatError(path, f"cannot parse meta file ({reason})") from None
    meta.columns = [str(c).strip() for c in meta.columns]
    absent = [c for c in META_COLUMNS if c not in meta.columns]
    if absent:
        raise DataFormatError(path, f"missing column(s) {', '.join(absent)}; expected {','.join(META_COLUMNS)}", 1)
    return meta[list(META_COLUMNS)].reset_index(drop=True)


# --------------------------------------------------------------------------- alignment


def align_stream(sample_times, values, grid_time, rate):
    """Align a sampled stream to the frame grid by timestamp.

    Each grid frame takes the most recent sample at or before it (within
    :data:`TIME_TOLERANCE`), if that sample is at most :data:`HOLD_PERIODS` periods of ``rate``
    old. A sample whose cells are all 0 or NaN is missing (the contract codes missing data as
    zeros). Frames with no covering present sample get a NaN row; NaN cells of a present sample
    stay NaN.

    Parameters
    ----------
    sample_times : array-like of shape (n_samples,)
        Sample times in seconds, sorted ascending (as :func:`read_modality` returns them).
    values : array-like of shape (n_samples, n_features)
    grid_time : array-like of shape (n_frames,)
        Frame times in seconds (any order).
    rate : float
        Nominal sampling rate of the stream in samples per second.

    Returns
    -------
    aligned : ndarray of shape (n_frames, n_features), float32
    present : ndarray of shape (n_frames,), bool

    Examples
    --------
    >>> import numpy as np
    >>> grid = np.round(np.arange(0.0, 0.08, 0.01), 2)
    >>> aligned, present = align_stream([0.02, 0.04], [[1.0], [0.0]], grid, rate=50)
    >>> present.tolist()
    [False, False, True, True, False, False, False, False]
    >>> aligned[2:4, 0].tolist()
    [1.0, 1.0]
    """
    sample_times = np.asarray(sample_times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float32)
    grid_time = np.asarray(grid_time, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != sample_times.shape[0]:
        raise ValueError(f"values must have shape (n_samples, n_features), got {values.shape} "
                         f"for {sample_times.shape[0]} samples")
    if np.any(np.diff(sample_times) < 0):
        raise ValueError("sample_times must be sorted ascending")
    n_features = values.shape[1]
    aligned = np.full((grid_time.shape[0], n_features), np.nan, dtype=np.float32)
    if sample_times.size == 0:
        return aligned, np.zeros(grid_time.shape[0], dtype=bool)
    source = np.searchsorted(sample_times, grid_time + TIME_TOLERANCE, side="right") - 1
    has_sample = source >= 0
    source = np.where(has_sample, source, 0)
    age = grid_time - sample_times[source]
    covered = has_sample & (age <= HOLD_PERIODS / rate + TIME_TOLERANCE)
    sample_present = ~np.all((values == 0) | np.isnan(values), axis=1)
    present = covered & sample_present[source]
    aligned[present] = values[source[present]]
    return aligned, present


# --------------------------------------------------------------------------- recordings


def _check_split(split):
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}, expected one of {SPLITS}")


def csv_files(folder):
    """The ``<id>.csv`` files of a folder, as a dict id -> path sorted by id.

    Names starting with ``.`` (macOS ``._id.csv`` resource forks, hidden files, editor backups)
    are not recordings and are ignored, by every stage alike. A missing folder has no files.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("idb.csv", "ida.csv", "._ida.csv", ".idc.csv", "notes.txt"):
    ...     _ = (folder / name).write_text("")
    >>> list(csv_files(folder))
    ['ida', 'idb']
    """
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    with os.scandir(folder) as entries:
        names = sorted(
            e.name for e in entries if e.name.endswith(".csv") and not e.name.startswith(".") and e.is_file()
        )
    return {name[:-4]: folder / name for name in names}


def _csv_ids(folder):
    return set(csv_files(folder))


def _grid_dir(data_dir, split):
    return Path(data_dir) / split / (LABELS_DIR if split == "train" else TEMPLATES_DIR)


def list_recordings(data_dir, split):
    """Sorted ids of the recordings of a split.

    The label files define the train recordings, the prediction templates those of the test
    splits. Modality files with no label/template are ignored with one warning.

    Parameters
    ----------
    data_dir : str or os.PathLike
        The dataset root.
    split : {"train", "test", "private_test"}

    Returns
    -------
    list of str

    Raises
    ------
    FileNotFoundError
        When the split folder or its labels/prediction folder does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "train" / "labels").mkdir(parents=True)
    >>> for rec_id in ("idb0000002", "ida0000001"):
    ...     _ = (root / "train" / "labels" / f"{rec_id}.csv").write_text("")
    >>> list_recordings(root, "train")
    ['ida0000001', 'idb0000002']
    """
    _check_split(split)
    split_dir = Path(data_dir) / split
    if not split_dir.is_dir():
        raise FileNotFoundError(f"split folder not found: {split_dir}")
    grid_dir = _grid_dir(data_dir, split)
    if not grid_dir.is_dir():
        raise FileNotFoundError(f"folder not found: {grid_dir} (it defines the {split} recordings)")
    ids = _csv_ids(grid_dir)
    orphans = set()
    for modality in MODALITIES:
        if (split_dir / modality).is_dir():
            orphans |= _csv_ids(split_dir / modality) - ids
    if orphans:
        warnings.warn(
            f"{len(orphans)} recording(s) in {split_dir} have modality files but no {grid_dir.name}/ "
            f"file and are ignored, e.g. {sorted(orphans)[0]}",
            UserWarning,
            stacklevel=2,
        )
    return sorted(ids)


def _meta_for(meta, rec_id):
    if meta is None:
        return {}
    rows = meta[meta["id"] == rec_id]
    if len(rows) == 0:
        return {}
    row = rows.iloc[0]
    # plain Python values, so that meta compares and serialises the same whatever pandas' dtypes
    return {
        key: (row[key].item() if isinstance(row[key], np.generic) else row[key]) for key in ("session", "actor")
    }


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


def _load_recording(data_dir, split, rec_id, with_answers, skip_bad_files, meta):
    """Load one recording; return it and the errors of the modality files skipped as bad.

    Skipped files are returned, not warned about, so that the caller can warn in its own
    process and thread (warnings in a worker process would be lost).
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
    streams, present, skipped = {}, {}, []
    for modality in MODALITIES:
        path = split_dir / modality / f"{rec_id}.csv"
        if path.is_file():
            try:
                sample_times, values = read_modality(path, modality)
            except DataFormatError as error:
                if not skip_bad_files:
                    raise
                skipped.append(error)
            else:
                streams[modality], present[modality] = align_stream(sample_times, values, time, RATES[modality])
                continue
        streams[modality] = np.full((len(time), N_FEATURES[modality]), np.nan, dtype=np.float32)
        present[modality] = np.zeros(len(time), dtype=bool)
    recording = Recording(rec_id, time, streams, present, labels, agreement, dict(meta))
    return recording, skipped


def load_recording(data_dir, split, rec_id, with_answers=True, skip_bad_files=False):
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

    Returns
    -------
    Recording
        Absent modality files give all-NaN streams and all-False ``present``. ``meta`` holds
        ``session`` and ``actor`` when ``meta.csv`` lists the id.

    Raises
    ------
    DataFormatError
        For a bad file (file and line in the message).
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
    >>> rec.present["eyes"].tolist(), rec.streams["eyes"].shape, bool(rec.present["audio"].any())
    ([False, True, True], (3, 6), False)
    """
    _check_split(split)
    meta = _meta_for(read_meta(data_dir), rec_id)
    recording, skipped = _load_recording(data_dir, split, rec_id, with_answers, skip_bad_files, meta)
    for error in skipped:
        warnings.warn(str(error), BadFileWarning, stacklevel=2)
    return recording


def _load_in_worker(data_dir, split, rec_id, with_answers, skip_bad_files, meta):
    """:func:`_load_recording`, but a bad train label file drops the recording when skipping."""
    try:
        return _load_recording(data_dir, split, rec_id, with_answers, skip_bad_files, meta)
    except DataFormatError as error:
        label_path = _grid_dir(data_dir, split) / f"{rec_id}.csv"
        if not (skip_bad_files and split == "train" and error.path == str(label_path)):
            raise
        return None, [error]


def load_split(data_dir, split, n_jobs=1, with_answers=True, skip_bad_files=False, progress=False):
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
    ids = list_recordings(data_dir, split)
    meta = read_meta(data_dir)
    tasks = (
        delayed(_load_in_worker)(data_dir, split, rec_id, with_answers, skip_bad_files, _meta_for(meta, rec_id))
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
        for error in skipped:
            warnings.warn(str(error), BadFileWarning, stacklevel=2)
        if recording is not None:
            recordings.append(recording)
    return recordings
