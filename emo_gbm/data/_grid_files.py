"""Reading the files that define the frame grid: labels, answers and prediction templates."""

import math

import numpy as np

from emo_gbm.constants import AGREEMENT_COLUMN, EMOTIONS
from emo_gbm.data._csv_tables import (
    _LINE_END_TEXT,
    _check_not_empty,
    _check_times,
    _decode,
    _header_cells,
    _is_number,
    _line_of_row,
    _read_bytes,
    _read_table,
)
from emo_gbm.errors import DataFormatError

LABEL_HEADER = ("Time",) + EMOTIONS + (AGREEMENT_COLUMN,)
TEMPLATE_HEADER = ("Time",) + EMOTIONS


def _describe_grid_count(expected_header):
    """The message for a row of a grid file with another number of cells than the header."""

    def describe_count(found):
        return f"expected {len(expected_header)} cells ({','.join(expected_header)}), found {found}"

    return describe_count


def _check_grid_header(path, header, expected_header):
    if tuple(header) != expected_header:
        raise DataFormatError(path, f"header must be {','.join(expected_header)}, found {','.join(header)}", 1)


def _is_finite_number(cell):
    return _is_number(cell) and math.isfinite(float(cell))


def _read_grid_file(path, expected_header):
    n_cells = len(expected_header)
    describe_count = _describe_grid_count(expected_header)
    data = _read_bytes(path)
    _check_grid_header(path, _header_cells(path, data), expected_header)
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
    describe_count = _describe_grid_count(expected_header)
    check_cells = expected_header == TEMPLATE_HEADER
    data = _read_bytes(path)
    _check_not_empty(path, data)
    text = _decode(path, data)  # utf-8-sig: a BOM is dropped
    physical = _LINE_END_TEXT.split(text)
    _check_grid_header(path, tuple(cell.strip() for cell in physical[0].split(",")), expected_header)
    times, lines = [], []
    for number, line in enumerate(physical[1:], start=2):
        if not line.strip():
            continue  # blank lines are not rows
        cells = line.split(",")
        if len(cells) != n_cells:
            raise DataFormatError(path, describe_count(len(cells)), number)
        time = cells[0].strip()
        if not _is_finite_number(time):
            raise DataFormatError(path, "Time is missing or not a finite number", number)
        if check_cells:
            for j, cell in enumerate(cells[1:], start=2):
                cell = cell.strip()
                if cell != "0" and not _is_finite_number(cell):
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
