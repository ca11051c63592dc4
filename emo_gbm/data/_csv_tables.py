"""Parsing the bytes of a CSV file into a float table, with errors that name file and line.

Files are parsed by ``pyarrow.csv`` (the fast path). When it fails, a careful pure-Python pass
re-reads the file to find the exact line and reason, so the user sees a :class:`DataFormatError`
naming file and line, never a pandas/pyarrow traceback. The careful pass also defines what is
accepted: if it finds nothing wrong with a file the fast path refused, its result is used.
"""

import csv
import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from emo_gbm.errors import DataFormatError

_MISSING_CELLS = frozenset({"", "nan", "-nan", "+nan"})
_FIRST_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")
_LINE_END = re.compile(rb"\r\n|\r|\n")
_LINE_END_TEXT = re.compile(r"\r\n|\r|\n")


@contextmanager
def _reading(path):
    """Turn an OSError while reading ``path`` into a :class:`DataFormatError` (a missing file stays one)."""
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as error:
        raise DataFormatError(path, f"cannot read the file ({error.strerror or error})") from None


def _read_bytes(path):
    with _reading(path):
        return Path(path).read_bytes()


def _check_not_empty(path, data):
    if not data or data.isspace():
        raise DataFormatError(path, "empty file")


def _split_first_line(data):
    """Return the first line (without its end) and the byte offset where the body starts."""
    match = _FIRST_LINE.match(data)
    return data[: match.end()].rstrip(b"\r\n"), match.end()


def _check_no_nul(path, data, start, first_line):
    """A NUL byte in ``data[start:]`` marks a binary file; ``first_line`` is the file line at ``start``."""
    nul = data.find(b"\x00", start)
    if nul >= 0:
        line = first_line + _count_line_ends(data, start, nul)
        raise DataFormatError(path, "contains a NUL byte: binary file, not CSV text", line)


def _decode(path, data, first_line_number=1):
    """Decode UTF-8 text; a NUL byte or invalid UTF-8 marks a binary or foreign-encoded file."""
    _check_no_nul(path, data, 0, first_line_number)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = first_line_number + _count_line_ends(data, 0, error.start)
        raise DataFormatError(path, "not UTF-8 text (binary file?)", line) from None


def _header_cells(path, data):
    _check_not_empty(path, data)
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
    _check_no_nul(path, data, start, first_line)
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


def _careful_rows(path, data, n_cells, describe_count):
    """Yield (file line, row of floats) for each data row (every line after the first); raise at the first bad line.

    Streams line by line: the rows are yielded, never held, so checking a file costs O(one line).
    """
    _, body_start = _split_first_line(data)
    for number, text in _body_lines(path, data, body_start, 2):
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


def _careful_table(path, data, n_cells, describe_count):
    """Parse the lines after the first cell by cell; raise at the first offending line, else return the values.

    ``describe_count`` turns a wrong cell count into the message for that file kind. A first
    pass only checks (O(one line) of memory, so a bad file never costs more than its bytes);
    only a file found good is read again into the (n_rows, n_cells) array.
    """
    n_rows = sum(1 for _ in _careful_rows(path, data, n_cells, describe_count))
    if not n_rows:
        raise DataFormatError(path, "no data rows after the first line")
    values = np.empty((n_rows, n_cells), dtype=np.float64)
    for i, (_, row) in enumerate(_careful_rows(path, data, n_cells, describe_count)):
        values[i] = row
    return values


def _read_table(path, data, n_cells, describe_count):
    """Values (n_rows, n_cells) of every line after the first; line numbers only via the careful pass."""
    _, body_start = _split_first_line(data)
    values = _fast_table(_arrow_owned(data, body_start), n_cells)
    if values is None:
        values = _careful_table(path, data, n_cells, describe_count)
    return values


def _line_of_row(path, data, n_cells, row, describe_count):
    """File line of data row ``row`` (0-based), for errors found after a successful fast parse."""
    for i, (line, _) in enumerate(_careful_rows(path, data, n_cells, describe_count)):
        if i == row:
            return line
    raise DataFormatError(path, f"no data row {row + 1}")


def _check_times(path, data, times, n_cells, describe_count):
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        line = _line_of_row(path, data, n_cells, bad[0], describe_count)
        raise DataFormatError(path, "Time is missing or not a finite number", line)


def _first_lines(path, count):
    """The first ``count`` lines of a file (bytes, line ends kept), reading only what they need."""
    with _reading(path), open(path, "rb") as f:
        data = b""
        while True:
            block = f.read(1 << 12)
            data += block
            ends = len(_LINE_END.findall(data))
            if not block or ends >= count:
                break
    offset = 0
    for _ in range(count):
        match = _FIRST_LINE.match(data, offset)
        offset = match.end()
    return data[:offset]
