"""WindowFeaturizer: the window statistics of many recordings as a scikit-learn transformer."""

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from emo_gbm.constants import MODALITIES
from emo_gbm.data.recording import order_modalities
from emo_gbm.features._sets import META_COLUMNS
from emo_gbm.features._names import columns_from_feature_names, feature_names, resolve_statistics, sanitize_column_names, SEPARATOR, _default_columns
from emo_gbm.features._windowing import featurize_recording


class WindowFeaturizer(TransformerMixin, BaseEstimator):
    """Summarise aligned recordings as tables of fixed-length windows.

    Parameters
    ----------
    length : int, default=400
        Window length in frames (400 = 4 s).
    hop : int, default=100
        Step between window starts in frames. A last window is aligned to the end of the
        recording so every frame is covered; a recording shorter than ``length`` gets one
        window padded with missing frames.
    stats : str or list of str, default="default"
        A feature set name from :data:`FEATURE_SETS` or a list of statistic names.
    modalities : sequence of str or None, default=None
        Modalities to summarise. None: every modality of the data ``fit`` sees.
    exclude : sequence of str, default=()
        Modalities left out (of those ``modalities`` selects).
    n_jobs : int, default=1
        Recordings featurised in parallel (joblib). The output does not depend on it.
    voicing : bool or "both", default=False
        True: read openSMILE's voiced-only descriptors (:data:`~emo_gbm.features.VOICED_ONLY`,
        e.g. ``F0semitoneFrom27.5Hz_sma3nz``) as defined on voiced frames only: the codes
        openSMILE writes on unvoiced frames (0; -201 for the formant amplitudes) are missing
        cells, so each is summarised over voiced frames (as ``<name>_voiced``, in its place),
        and a column ``voiced`` (1 where F0 is defined, 0 where not) gives the voiced share.
        ``"both"``: the columns as given and those readings (what the features stage caches).
        Other columns are unaffected (:func:`~emo_gbm.features.summarised_columns`).

    Attributes
    ----------
    statistics_ : list of str
        The resolved statistic names.
    modalities_ : list of str
        The modalities summarised, in output order (the challenge's four first, then the
        others by name; or the order of ``modalities``).
    columns_ : dict of str to tuple of str
        Each modality's source column names (sanitised, :func:`sanitize_column_names`).
    rates_ : dict of str to float
        Median sampling rate of each modality over the files ``fit`` saw (measured from
        their Time columns); empty when fitted without recordings.
    feature_names_out_ : ndarray of str
        The feature column names (meta columns excluded).

    Notes
    -----
    ``transform`` returns a DataFrame with the meta columns ``rec_id``, ``start``, ``stop``
    (frame indices, ``stop`` exclusive), ``group`` (the actor when the recording's meta
    names one, else the recording id), ``label`` (agreement-weighted majority class of the
    window's frames, -1 when unknown) and ``weight`` (mean agreement, 1 when unknown),
    followed by the float32 features: exactly the columns learned in ``fit``, whatever the
    transformed recordings hold. Statistics ignore missing frames; a modality with no
    present frame in a window, or that a recording lacks altogether, has NaN statistics
    and missing fraction 1. A modality ``fit`` did not see is ignored.

    Examples
    --------
    >>> import numpy as np
    >>> from emo_gbm.data.recording import Recording
    >>> rec = Recording.empty("id00000001", np.arange(1000) / 100)
    >>> rec.streams["eyes"][:] = 1.0
    >>> rec.present["eyes"][:] = True
    >>> table = WindowFeaturizer(stats="minimal", modalities=["eyes"]).fit_transform([rec])
    >>> table.shape
    (7, 19)
    >>> float(table["eyes__c000__mean"].iloc[0]), float(table["eyes__missing_frac"].iloc[0])
    (1.0, 0.0)

    A modality beyond the challenge's four, with its own column names:

    >>> rec = Recording.empty("id00000002", np.arange(500) / 100, columns={"physio": ["eda", "bvp"]})
    >>> featurizer = WindowFeaturizer(stats=["mean"]).fit([rec])
    >>> featurizer.modalities_, list(featurizer.get_feature_names_out())
    (['physio'], ['physio__missing_frac', 'physio__eda__mean', 'physio__bvp__mean'])
    """

    #: A featurizer saved before ``voicing`` existed (in an older model file) has no such
    #: attribute: it reads the columns as given, as it did when its model was trained.
    voicing = False

    def __init__(self, length=400, hop=100, stats="default", modalities=None, exclude=(), n_jobs=1, voicing=False):
        self.length = length
        self.hop = hop
        self.stats = stats
        self.modalities = modalities
        self.exclude = exclude
        self.n_jobs = n_jobs
        self.voicing = voicing

    def _validate(self):
        for name in ("length", "hop"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.modalities is not None and (isinstance(self.modalities, str) or not len(self.modalities)):
            raise ValueError(f"modalities must be None or a non-empty sequence of names, got {self.modalities!r}")
        self.statistics_ = resolve_statistics(self.stats)

    def fit_schema(self, columns, rates=None):
        """Learn the modalities and their columns from a schema: modality -> column names.

        ``modalities`` and ``exclude`` select among them, as in :meth:`fit`.

        Parameters
        ----------
        columns : dict of str to sequence of str
            E.g. another fitted featurizer's ``columns_``, or ``Recording.columns``.
        rates : dict of str to float, optional
            Kept as ``rates_``.

        Returns
        -------
        self : WindowFeaturizer

        Examples
        --------
        >>> WindowFeaturizer(stats=["mean"]).fit_schema({"physio": ["eda"]}).get_feature_names_out().tolist()
        ['physio__missing_frac', 'physio__eda__mean']
        """
        self._validate()
        available = order_modalities(columns) if self.modalities is None else list(self.modalities)
        missing = [m for m in available if m not in columns]
        if missing:
            raise ValueError(f"modality {missing[0]!r} is not in the data (found: {', '.join(columns) or 'none'})")
        self.modalities_ = [m for m in available if m not in set(self.exclude)]
        if not self.modalities_:
            raise ValueError(f"no modality left to summarise (data: {', '.join(columns) or 'none'}, "
                             f"modalities={self.modalities!r}, exclude={self.exclude!r})")
        self.columns_ = {m: sanitize_column_names(columns[m]) for m in self.modalities_}
        self.rates_ = {m: rates[m] for m in self.modalities_ if rates and m in rates}
        self.feature_names_out_ = np.asarray(
            feature_names(self.modalities_, self.statistics_, self.columns_, self.voicing), dtype=object
        )
        return self

    def fit(self, recordings=None, y=None):
        """Learn the modalities and their columns from ``recordings``.

        Parameters
        ----------
        recordings : list of Recording, optional
            Every modality found in any of them (with ``modalities=None``), with the column
            names of its recordings, which must agree. None (or empty): the four modalities
            of the challenge with their contract widths and positional names.
        y : None
            Ignored.

        Returns
        -------
        self : WindowFeaturizer

        Raises
        ------
        ValueError
            When recordings disagree on a modality's columns, or a modality asked for is in
            none of them.
        """
        self._validate()
        recordings = [] if recordings is None else list(recordings)
        if not recordings:
            wanted = MODALITIES if self.modalities is None else self.modalities
            return self.fit_schema(_default_columns(wanted))
        columns, owner, rates = {}, {}, {}
        for rec in recordings:
            for modality in rec.streams:
                names = sanitize_column_names(rec.column_names(modality))
                if modality not in columns:
                    columns[modality], owner[modality] = names, rec.rec_id
                elif names != columns[modality]:
                    raise ValueError(
                        f"recording {rec.rec_id}: {modality} has {len(names)} columns ({', '.join(names[:3])}, ...), "
                        f"recording {owner[modality]} has {len(columns[modality])} "
                        f"({', '.join(columns[modality][:3])}, ...)"
                    )
                if modality in rec.rates:
                    rates.setdefault(modality, []).append(rec.rates[modality])
        return self.fit_schema(columns, {m: float(np.median(r)) for m, r in rates.items()})

    def fit_columns(self, names):
        """Learn the modalities and their columns from the column names of a window table.

        For a table this featurizer's kind wrote (cached features): the modalities and
        columns are read back from the feature names (:func:`columns_from_feature_names`).

        Parameters
        ----------
        names : sequence of str
            E.g. ``windows.columns``; meta columns are ignored.

        Returns
        -------
        self : WindowFeaturizer

        Examples
        --------
        >>> names = ["rec_id", "eyes__missing_frac", "eyes__c000__mean", "physio__missing_frac",
        ...          "physio__eda__mean"]
        >>> WindowFeaturizer(stats=["mean"], exclude=["eyes"]).fit_columns(names).columns_
        {'physio': ('eda',)}
        """
        self._validate()
        return self.fit_schema(columns_from_feature_names(names))

    def transform(self, recordings):
        """Window table of ``recordings``, rows in input order, with exactly the fitted columns.

        Parameters
        ----------
        recordings : list of Recording

        Returns
        -------
        windows : DataFrame
        """
        check_is_fitted(self, "feature_names_out_")
        recordings = list(recordings)
        if not recordings:
            columns = list(META_COLUMNS) + list(self.feature_names_out_)
            return pd.DataFrame({c: pd.Series(dtype=np.float32) for c in columns})
        window = self.window_params()
        tables = Parallel(n_jobs=self.n_jobs)(delayed(featurize_recording)(rec, **window) for rec in recordings)
        return pd.concat(tables, axis=0, ignore_index=True)

    def window_params(self):
        """The keyword arguments of :func:`~emo_gbm.features.featurize_recording` that give this
        fitted featurizer's windows: what :meth:`transform` calls it with, and what the features
        stage sends its worker processes (plain values, so they need not import scikit-learn).

        Returns
        -------
        params : dict
            ``length``, ``hop``, ``stats``, ``modalities``, ``columns`` and ``voicing``.
        """
        check_is_fitted(self, "feature_names_out_")
        return {"length": self.length, "hop": self.hop, "stats": self.statistics_, "modalities": self.modalities_,
                "columns": self.columns_, "voicing": self.voicing}

    def get_feature_names_out(self, input_features=None):
        """Feature column names of the output (meta columns excluded).

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def feature_names_by_modality(self):
        """Feature column names grouped by modality, missing fraction included.

        Returns
        -------
        columns : dict of str to list of str
        """
        check_is_fitted(self, "feature_names_out_")
        return {m: [c for c in self.feature_names_out_ if c.startswith(f"{m}{SEPARATOR}")] for m in self.modalities_}
