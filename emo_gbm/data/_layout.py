"""The challenge's folder layout: which splits, modalities and recordings a dataset holds, and its meta file."""

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from emo_gbm.constants import LABELS_DIR, META_FILE, SPLITS, TEMPLATES_DIR
from emo_gbm.data.recording import order_modalities
from emo_gbm.errors import DataFormatError

META_COLUMNS = ("id", "split", "session", "actor")


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
