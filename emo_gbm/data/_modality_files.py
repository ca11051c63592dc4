"""Reading one modality file: its feature columns (from the first lines) and its samples."""

import csv

import numpy as np

from emo_gbm.constants import HAS_HEADER
from emo_gbm.data._csv_tables import (
    _check_not_empty,
    _check_times,
    _decode,
    _first_lines,
    _header_cells,
    _is_number,
    _read_bytes,
    _read_table,
    _split_first_line,
)
from emo_gbm.data.recording import positional_columns
from emo_gbm.errors import DataFormatError


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
    _check_not_empty(path, data)
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


def _feature_count(path, data, modality, columns):
    """Number of feature columns of a modality file: its header's (checked against ``columns``), else
    as many as ``columns`` names, else as many as its first data row has."""
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
        return len(found)
    if expected is not None:
        return len(expected)
    try:
        return len(read_modality_columns(path, modality))
    except DataFormatError:
        _decode(path, data)  # a binary file says so rather than "a row needs Time..."
        raise


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
    _check_not_empty(path, data)
    n_features = _feature_count(path, data, modality, columns)
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
