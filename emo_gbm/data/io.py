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

from emo_gbm.constants import (
    AGREEMENT_COLUMN,
    FRAME_RATE,
    ANSWERS_DIR,
    EMOTIONS,
    HAS_HEADER,
    LABELS_DIR,
    META_FILE,
    RATES,
    SPLITS,
    TEMPLATES_DIR,
)
from emo_gbm.errors import BadFileWarning, DataFormatError
from emo_gbm.data.recording import Recording, order_modalities, positional_columns

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


def has_header(modality):
    """Whether files of ``modality`` start with a header row naming the columns.

    ``eyes`` and ``face_nn`` follow the data contract: their first line is not data and is
    skipped, their rows have no header. Every other modality (``audio``, ``kinect`` and any
    modality folder beyond the challenge's four) has a header row with ``Time`` first.

    Examples
    --------
    >>> has_header("audio"), has_header("eyes"), has_header("physio")
    (True, False, True)
    """
    return HAS_HEADER.get(modality, True)


def _first_lines(path, count, chunk=1 << 16):
    """The first ``count`` lines of a file (bytes, line ends kept), reading only what they need."""
    try:
        with open(path, "rb") as f:
            data = b""
            while True:
                block = f.read(chunk)
                data += block
                ends = len(_LINE_END.findall(data))
                if not block or ends >= count:
                    break
    except FileNotFoundError:
        raise
    except OSError as error:
        raise DataFormatError(path, f"cannot read the file ({error.strerror or error})") from None
    offset = 0
    for _ in range(count):
        match = _FIRST_LINE.match(data, offset)
        offset = match.end()
    return data[:offset]


def _header_columns(path, data, modality):
    """Feature names of a header row (Time excluded), checking that Time is the first column."""
    header = _header_cells(path, data)
    if _is_number(header[0]):
        raise DataFormatError(path, "first line is data, expected a header row starting with Time", 1)
    if header[0].lower() != "time":
        raise DataFormatError(path, f"the header's first column must be Time, found {header[0][:40]!r}", 1)
    if len(header) < 2:
        raise DataFormatError(path, f"the header names no {modality} feature after Time", 1)
    return tuple(header[1:])


def read_modality_columns(path, modality):
    """Source column names of a modality file's features, reading only its first lines.

    A file with a header (:func:`has_header`) gives the header's names after ``Time``; a file
    without one (``eyes``, ``face_nn``) gives positional names ``c000``, ``c001``, ... as many as
    its first data row has cells after the time.

    Raises
    ------
    DataFormatError
        Naming the file: empty, a header whose first column is not ``Time``, no data row.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "id00000001.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("Time,F0semitoneFrom27.5Hz_sma3nz,loudness_sma3\\n0.00,1,2\\n")
    >>> read_modality_columns(path, "audio")
    ('F0semitoneFrom27.5Hz_sma3nz', 'loudness_sma3')
    >>> with open(path, "w") as f:
    ...     _ = f.write("eye tracker export\\n0.00,1,2,3\\n")
    >>> read_modality_columns(path, "eyes")
    ('c000', 'c001', 'c002')
    """
    data = _first_lines(path, 2)
    if not data or data.isspace():
        raise DataFormatError(path, "empty file")
    if has_header(modality):
        return _header_columns(path, data, modality)
    _, body_start = _split_first_line(data)
    row = data[body_start:].rstrip(b"\r\n")
    if not row.strip():
        raise DataFormatError(path, "no data rows after the first line")
    text = _decode(path, row, 2)
    cells = next(csv.reader([text]), [])
    if len(cells) < 2:
        raise DataFormatError(path, f"a row needs Time and at least one {modality} feature, found {len(cells)} cell(s)", 2)
    return positional_columns(len(cells) - 1)


def read_modality(path, modality, columns=None):
    """Read one modality file into its sample times and feature values.

    Files with a header (``audio``, ``kinect``, any modality beyond the challenge's four) start
    with a header row whose first column is ``Time``; for ``eyes`` and ``face_nn`` the first
    line is not data and is skipped (:func:`has_header`). The number of features comes from the
    file (or from ``columns``). Rows are sorted by time (stable) and a repeated time keeps its
    first row. Empty and NaN cells are kept as NaN.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    modality : str
        The modality (its folder name).
    columns : sequence of str, optional
        The feature columns the file must have (the other files of its modality agree on
        them): the header's names after ``Time``, or for a file without a header as many
        columns as given. None: whatever the file has.

    Returns
    -------
    times : ndarray of shape (n_samples,), float64
    values : ndarray of shape (n_samples, n_features), float32

    Raises
    ------
    DataFormatError
        Naming the file (and line): empty file, no data rows, a header whose first column is
        not ``Time``, other feature columns than ``columns``, a row with the wrong number of
        cells, text in a numeric cell, a missing time, undecodable bytes.

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
    data = _read_bytes(path)
    if not data or data.isspace():
        raise DataFormatError(path, "empty file")
    expected = None if columns is None else tuple(columns)
    if has_header(modality):
        found = _header_columns(path, data, modality)
        if expected is not None and found != expected:
            if len(found) != len(expected):
                reason = f"header names {len(found)} features, the other {modality} files have {len(expected)}"
            else:
                j = next(k for k, (a, b) in enumerate(zip(found, expected)) if a != b)
                reason = (f"header column {j + 2} is {found[j][:40]!r}, the other {modality} files have "
                          f"{expected[j][:40]!r} there")
            raise DataFormatError(path, reason, 1)
        n_features = len(found)
    elif expected is not None:
        n_features = len(expected)
    else:
        try:
            n_features = len(read_modality_columns(path, modality))
        except DataFormatError:
            _decode(path, data)  # a binary file says so rather than "a row needs Time..."
            raise
    n_cells = n_features + 1

    def describe_count(found):
        return (f"expected {n_cells} cells (Time + {n_features} {modality} features), "
                f"found {found}")

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


def measured_rate(times, default=None):
    """Sampling rate of a stream from its sorted sample times: 1 / the median step.

    Rounded to two significant digits: the rate only sets how long a sample is held when
    aligning (:data:`HOLD_PERIODS` periods), and the rounding keeps a stream at its nominal
    rate despite rounded timestamps (Kinect's 0.067 s steps give 15, not 14.93).

    Parameters
    ----------
    times : array-like of shape (n_samples,)
        Strictly increasing sample times in seconds (as :func:`read_modality` returns them).
    default : float, optional
        Returned when there are fewer than two samples.

    Examples
    --------
    >>> measured_rate([0.0, 0.067, 0.134, 0.201]), measured_rate([0.0, 0.02, 0.04, 0.07])
    (15.0, 50.0)
    >>> measured_rate([1.0], default=32.0)
    32.0
    """
    steps = np.diff(np.asarray(times, dtype=np.float64))
    steps = steps[steps > 0]
    if steps.size == 0:
        return default
    return float(f"{1.0 / float(np.median(steps)):.2g}")


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


_MODALITY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def list_modalities(data_dir, split):
    """The modalities of a split: every folder of ``DATA/<split>/`` but ``labels`` and ``prediction``.

    Folders whose name starts with a dot are ignored. The order is that of
    :func:`~emo_gbm.data.recording.order_modalities` (the challenge's four first).

    Parameters
    ----------
    data_dir : str or os.PathLike
        The dataset root.
    split : {"train", "test", "private_test"}

    Returns
    -------
    list of str
        Empty when the split folder does not exist.

    Raises
    ------
    DataFormatError
        For a folder whose name cannot name features (it must start with a letter or digit,
        hold only letters, digits, ``_``, ``.``, ``-``, and no ``__``, the separator of
        feature names).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> for folder in ("labels", "physio", "eyes", "audio", ".cache"):
    ...     (root / "train" / folder).mkdir(parents=True)
    >>> list_modalities(root, "train")
    ['audio', 'eyes', 'physio']
    """
    split_dir = Path(data_dir) / split
    if not split_dir.is_dir():
        return []
    names = []
    with os.scandir(split_dir) as entries:
        for entry in entries:
            if entry.name.startswith(".") or entry.name in (LABELS_DIR, TEMPLATES_DIR) or not entry.is_dir():
                continue
            if not _MODALITY_NAME.fullmatch(entry.name) or "__" in entry.name:
                raise DataFormatError(
                    split_dir / entry.name,
                    "a modality folder name must start with a letter or digit and hold only letters, digits, "
                    "'_', '.', '-' (no '__')",
                )
            names.append(entry.name)
    return order_modalities(names)


def read_split_columns(data_dir, split, skip_bad_files=False):
    """The feature columns of every modality of a split, as most of its files have them.

    Reads only the first lines of each file (:func:`read_modality_columns`). Files that
    disagree with the majority are not reported here: loading them with these columns
    (:func:`load_split`) rejects them, naming the file. A modality none of whose files has a
    readable first line raises that error (with ``skip_bad_files``: is left out, and the
    errors are returned to be warned about).

    Parameters
    ----------
    data_dir : str or os.PathLike
        The dataset root.
    split : {"train", "test", "private_test"}
    skip_bad_files : bool, default=False

    Returns
    -------
    columns : dict of str to tuple of str
        Modality -> its source column names, in :func:`list_modalities` order; a modality
        folder without any ``.csv`` file is left out.
    errors : list of DataFormatError
        The errors of modalities left out (only with ``skip_bad_files``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "train" / "physio").mkdir(parents=True)
    >>> for rec_id in ("id00000001", "id00000002"):
    ...     _ = (root / "train" / "physio" / f"{rec_id}.csv").write_text("Time,eda,bvp\\n0.0,1,2\\n")
    >>> read_split_columns(root, "train")
    ({'physio': ('eda', 'bvp')}, [])
    """
    split_dir = Path(data_dir) / split
    columns, errors = {}, []
    for modality in list_modalities(data_dir, split):
        counts, first_error = {}, None
        for rec_id in sorted(_csv_ids(split_dir / modality)):
            try:
                names = read_modality_columns(split_dir / modality / f"{rec_id}.csv", modality)
            except (DataFormatError, FileNotFoundError) as error:
                first_error = first_error or error
                continue
            counts[names] = counts.get(names, 0) + 1
        if counts:
            columns[modality] = max(counts, key=counts.get)  # ties: the first seen (dicts keep order)
        elif first_error is not None:
            if not skip_bad_files or not isinstance(first_error, DataFormatError):
                raise first_error
            errors.append(first_error)
    return columns, errors


def _match_columns(data_dir, split, columns):
    """The expected columns restricted to the split's modalities, warning about the differences.

    A modality of ``columns`` without a folder in the split is absent from every recording;
    a folder of the split not in ``columns`` is ignored. Both are warned about, by name.
    """
    found = list_modalities(data_dir, split)
    split_dir = Path(data_dir) / split
    for modality in columns:
        if modality not in found:
            warnings.warn(
                f"modality {modality!r} has no folder in {split_dir}: treated as absent from every recording",
                UserWarning, stacklevel=3,
            )
    for modality in found:
        if modality not in columns:
            warnings.warn(
                f"modality {modality!r} ({split_dir / modality}) is not among the expected modalities "
                f"({', '.join(columns) or 'none'}): ignored", UserWarning, stacklevel=3,
            )
    return {m: tuple(names) for m, names in columns.items()}


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
    for modality in list_modalities(data_dir, split):
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


def _split_columns(data_dir, split, skip_bad_files, columns):
    """The columns to load: ``columns`` matched against the split's folders, or the split's own."""
    if columns is not None:
        return _match_columns(data_dir, split, columns), []
    return read_split_columns(data_dir, split, skip_bad_files)


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
    for error in skipped + more:
        warnings.warn(str(error), BadFileWarning, stacklevel=2)
    return recording


def _load_in_worker(data_dir, split, rec_id, with_answers, skip_bad_files, meta, columns):
    """:func:`_load_recording`, but a bad train label file drops the recording when skipping."""
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
    ids = list_recordings(data_dir, split)
    meta = read_meta(data_dir)
    columns, skipped_modalities = _split_columns(data_dir, split, skip_bad_files, columns)
    for error in skipped_modalities:
        warnings.warn(str(error), BadFileWarning, stacklevel=2)
    tasks = (
        delayed(_load_in_worker)(
            data_dir, split, rec_id, with_answers, skip_bad_files, _meta_for(meta, rec_id), columns
        )
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
