"""The in-memory form of one recording, shared by every stage after reading."""

from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np

from .constants import MODALITIES, N_FEATURES


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
        One entry for every modality of :data:`~emo_gbm.constants.MODALITIES`, always
        present. Cells are NaN where the value is missing: the whole row where the frame is
        missing (all-zero row, no sample covering the frame, absent file), single cells where
        the file had an empty or NaN cell.
    present : dict of str to ndarray of shape (n_frames,), bool
        True where the modality has data for that frame (the complement of the missing mask).
    labels : ndarray of shape (n_frames,), int8, or None
        Class index per frame (order of :data:`~emo_gbm.constants.EMOTIONS`), when known.
    agreement : ndarray of shape (n_frames,), float32, or None
        Annotator agreement per frame, when known.
    """

    rec_id: str
    time: np.ndarray
    streams: Dict[str, np.ndarray]
    present: Dict[str, np.ndarray]
    labels: Optional[np.ndarray] = None
    agreement: Optional[np.ndarray] = None
    meta: Dict[str, object] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.time.shape[0])

    @classmethod
    def empty(cls, rec_id, time, labels=None, agreement=None):
        """A recording with every modality missing on every frame of ``time``."""
        n = len(time)
        streams = {m: np.full((n, N_FEATURES[m]), np.nan, dtype=np.float32) for m in MODALITIES}
        present = {m: np.zeros(n, dtype=bool) for m in MODALITIES}
        return cls(rec_id, np.asarray(time, dtype=np.float64), streams, present, labels, agreement)
