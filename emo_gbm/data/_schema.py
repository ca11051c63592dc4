"""The feature columns of a split, as its files have them or as another split (train) dictates."""

import warnings
from pathlib import Path

from emo_gbm.data._layout import _csv_ids, list_modalities
from emo_gbm.data._modality_files import read_modality_columns
from emo_gbm.errors import DataFormatError


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


def _split_columns(data_dir, split, skip_bad_files, columns):
    """The columns to load: ``columns`` matched against the split's folders, or the split's own."""
    if columns is not None:
        return _match_columns(data_dir, split, columns), []
    return read_split_columns(data_dir, split, skip_bad_files)
