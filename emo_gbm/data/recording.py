"""The in-memory form of one recording, shared by every stage after reading."""

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import numpy as np

from emo_gbm.constants import MODALITIES, N_FEATURES


def positional_columns(n_columns):
    """Names of the columns of a file without a header: ``c000``, ``c001``, ...

    Examples
    --------
    >>> positional_columns(3)
    ('c000', 'c001', 'c002')
    """
    return tuple(f"c{j:03d}" for j in range(int(n_columns)))


def order_modalities(names):
    """Modalities in the order used everywhere: the challenge's four in their fixed order
    (:data:`~emo_gbm.constants.MODALITIES`), then any others sorted by name.

    Examples
    --------
    >>> order_modalities(["physio", "kinect", "audio", "eeg"])
    ['audio', 'kinect', 'eeg', 'physio']
    """
    names = set(names)
    return [m for m in MODALITIES if m in names] + sorted(names - set(MODALITIES))


@dataclass
class Recording:
    """One recording aligned to its 100 fps frame grid.

    Attributes
    ----------
    rec_id : str
        The recording id (file name without ``.csv``), e.g. ``"id110af0c0"``.
    time : ndarray of shape (n_frames,), float64
        The frame grid in seconds, from the label file (train) or the template (test).
    streams : dict of str to ndarray of shape (n_frames, n_features), float32
        One entry for every modality of the recording's split (every modality folder, see
        :func:`~emo_gbm.data.io.list_modalities`), also where this recording has no file.
        Cells are NaN where the value is missing: the whole row where the frame is
        missing (all-zero row, no sample covering the frame, absent file), single cells where
        the file had an empty or NaN cell.
    present : dict of str to ndarray of shape (n_frames,), bool
        True where the modality has data for that frame (the complement of the missing mask).
    labels : ndarray of shape (n_frames,), int8, or None
        Class index per frame (order of :data:`~emo_gbm.constants.EMOTIONS`), when known.
    agreement : ndarray of shape (n_frames,), float32, or None
        Annotator agreement per frame, when known.
    meta : dict
        ``session`` and ``actor`` where ``meta.csv`` names them.
    columns : dict of str to tuple of str
        Source column names of each modality's features (the header without ``Time``, or
        :func:`positional_columns` for a file without a header); a modality not listed here
        has positional names (:meth:`column_names`).
    rates : dict of str to float
        Sampling rate of each modality file read, measured from its Time column
        (:func:`~emo_gbm.data.io.measured_rate`).
    """

    rec_id: str
    time: np.ndarray
    streams: Dict[str, np.ndarray]
    present: Dict[str, np.ndarray]
    labels: Optional[np.ndarray] = None
    agreement: Optional[np.ndarray] = None
    meta: Dict[str, object] = field(default_factory=dict)
    columns: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    rates: Dict[str, float] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.time.shape[0])

    def column_names(self, modality):
        """Source column names of ``modality``'s features (positional where none are known)."""
        names = self.columns.get(modality)
        if names is None:
            return positional_columns(np.shape(self.streams[modality])[1])
        return tuple(names)

    @classmethod
    def empty(cls, rec_id, time, labels=None, agreement=None, columns=None):
        """A recording with every modality missing on every frame of ``time``.

        ``columns``: modality -> its column names; default the four modalities of the
        challenge with their contract widths and positional names.
        """
        if columns is None:
            columns = {m: positional_columns(N_FEATURES[m]) for m in MODALITIES}
        columns = {m: tuple(names) for m, names in columns.items()}
        n = len(time)
        streams = {m: np.full((n, len(names)), np.nan, dtype=np.float32) for m, names in columns.items()}
        present = {m: np.zeros(n, dtype=bool) for m in columns}
        return cls(rec_id, np.asarray(time, dtype=np.float64), streams, present, labels, agreement, columns=columns)
