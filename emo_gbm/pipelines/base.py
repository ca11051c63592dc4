"""The pipeline object: which window features, which window classifier, which smoother."""

import inspect

import numpy as np
from sklearn.base import BaseEstimator, clone

from emo_gbm.constants import N_CLASSES
from emo_gbm.smoothing import METHODS
from emo_gbm.model_selection import cross_val_rounds, grouped_folds, with_rounds


#: The smoothing methods ``smoothing="auto"`` chooses from.
AUTO_SMOOTHING = ("viterbi", "overlap", "context")

#: The window columns a smoother reads.
WINDOW_KEYS = ["rec_id", "start", "stop"]


def _fit_smoother(smoother, method, windows, window_proba, frames, n_jobs=1):
    """A clone of ``smoother`` with ``method`` (and ``n_jobs``), fitted."""
    return clone(smoother).set_params(method=method, n_jobs=n_jobs).fit(windows, window_proba, frames)


class FramePipeline(BaseEstimator):
    """Window features -> window classifier -> frame smoother, fitted on cached feature tables.

    Parameters
    ----------
    featurizer : WindowFeaturizer
        Describes the features the classifier reads (window length, statistics,
        modalities); the windows themselves are computed and cached by
        :func:`emo_gbm.workflow.make_features`, which must have used the same length and a
        superset of these columns. Fitted on the train window table's columns
        (``featurizer_``), so its modalities and their columns are those of the data.
    classifier : classifier
        Fitted on the feature columns of the windows, with the window weights. If its
        ``fit`` accepts ``groups`` (:class:`~emo_gbm.ensemble.StackedModalityClassifier`),
        it gets the window groups and must expose ``oof_proba_``; otherwise the pipeline
        computes grouped out-of-fold posteriors itself with ``cv`` folds (fewer when there
        are fewer groups), choosing the boosting rounds of a LightGBM or XGBoost
        classifier on them (:func:`~emo_gbm.model_selection.cross_val_rounds`) before the refit.
        A classifier whose ``fit`` and ``predict_proba`` accept ``sequences`` gets each
        window's recording (the unit in which a modality is absent).
    smoother : FrameSmoother
        Tuned on the out-of-fold posteriors of the train windows, once per smoothing
        method (its own ``method`` is overridden); every method stays available for
        comparison (:meth:`predict_frames` ``smoothing=``).
    cv : int, default=5
        Grouped folds for the out-of-fold posteriors of a classifier without ``groups``.
    random_state : int, default=0
    n_jobs : int, default=1
    smoothing : {"auto", "viterbi", "overlap", "argmax", "context"}, default="auto"
        The smoothing method of the predictions; ``"auto"`` picks, of
        :data:`AUTO_SMOOTHING` (Viterbi, overlap-add argmax, context model), the one with the
        best WA on the out-of-fold posteriors of the train windows (ties: the earlier). The
        context model's WA is itself out-of-fold (grouped cross-validation over the frames),
        the others' are those of their few tuned parameters. The per-window argmax is kept
        as the plain reference to compare against, not a candidate.

    Attributes
    ----------
    featurizer_ : WindowFeaturizer
        ``featurizer`` fitted on the columns of the train windows
        (:meth:`~emo_gbm.features.WindowFeaturizer.fit_columns`): it featurises new
        recordings into exactly the columns the classifier reads.
    feature_columns_ : list of str
    classifier_ : classifier
        The fitted classifier.
    classes_ : ndarray of int
        Class indices the classifier knows.
    n_rounds_ : int or None
        Boosting rounds chosen by grouped cross-validation for a classifier without
        ``groups`` (None otherwise, or when it is not LightGBM/XGBoost).
    oof_window_proba_ : ndarray of shape (n_windows, 6)
        Out-of-fold posteriors of the train windows.
    smoothers_ : dict of str to FrameSmoother
        A fitted smoother for every method.
    smoothing_ : str
        The method used by default (``smoothing``, or the one chosen for ``"auto"``).
    smoothing_scores_ : dict of str to float
        Out-of-fold WA of each method (its best tuned setting) on the train windows.

    Examples
    --------
    >>> from lightgbm import LGBMClassifier
    >>> from emo_gbm.features import WindowFeaturizer
    >>> from emo_gbm.smoothing import FrameSmoother
    >>> pipe = FramePipeline(WindowFeaturizer(modalities=["eyes"]), LGBMClassifier(), FrameSmoother())
    >>> pipe.smoothing
    'auto'
    """

    def __init__(self, featurizer, classifier, smoother, cv=5, random_state=0, n_jobs=1, smoothing="auto"):
        self.featurizer = featurizer
        self.classifier = classifier
        self.smoother = smoother
        self.cv = cv
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.smoothing = smoothing

    def _features(self, windows):
        missing = [c for c in self.feature_columns_ if c not in windows.columns]
        if missing:
            raise ValueError(
                f"the window table lacks {len(missing)} feature columns this pipeline needs, e.g. {missing[0]!r}; "
                "rebuild the features with a featurizer that produces them"
            )
        return windows[self.feature_columns_]

    @staticmethod
    def _sequences(method, windows):
        """The recording of each window, for a classifier method that takes it."""
        if "sequences" not in inspect.signature(method).parameters:
            return {}
        return {"sequences": windows["rec_id"].to_numpy()}

    def _all_classes(self, proba):
        """Posteriors with one column per emotion (zeros for classes absent from training)."""
        full = np.zeros((proba.shape[0], N_CLASSES))
        full[:, self.classes_] = proba
        return full

    def fit(self, X, y):
        """Fit the classifier on the labelled windows and the smoothers on its out-of-fold posteriors.

        Parameters
        ----------
        X : DataFrame
            A window table (:class:`~emo_gbm.features.WindowFeaturizer` output) of the
            train split, every label known.
        y : DataFrame
            Frame labels of the same recordings: ``rec_id``, ``label``, ``agreement`` (the
            targets are frames, the inputs windows: the smoothers map one onto the other).

        Returns
        -------
        self : FramePipeline
        """
        windows, frames = X, y
        self.featurizer_ = clone(self.featurizer).fit_columns(windows.columns)
        self.feature_columns_ = list(self.featurizer_.get_feature_names_out())
        lengths = (windows["stop"] - windows["start"]).max()
        if lengths > self.featurizer.length:
            raise ValueError(f"windows of {lengths} frames, but this pipeline expects {self.featurizer.length}")
        if (windows["label"] < 0).any():
            raise ValueError("every train window needs a label (found label -1)")
        X = self._features(windows)
        y = windows["label"].to_numpy(np.int64)
        weight = windows["weight"].to_numpy(np.float64)
        groups = windows["group"].to_numpy()
        self.classifier_ = clone(self.classifier)
        if "groups" in inspect.signature(self.classifier_.fit).parameters:
            sequences = self._sequences(self.classifier_.fit, windows)
            self.classifier_.fit(X, y, sample_weight=weight, groups=groups, **sequences)
            oof = self.classifier_.oof_proba_
            self.n_rounds_ = None
        else:
            n_groups = np.unique(groups).size
            if n_groups < 2:
                raise ValueError("the train windows come from a single group (actor or recording); need at least 2")
            classes, y_encoded = np.unique(y, return_inverse=True)
            oof, self.n_rounds_, _ = cross_val_rounds(
                self.classifier, X.to_numpy(), y_encoded, grouped_folds(y_encoded, groups, self.cv, self.random_state),
                sample_weight=weight, seed=self.random_state, n_jobs=self.n_jobs,
            )
            self.classifier_ = with_rounds(self.classifier, self.n_rounds_)
            self.classifier_.fit(X, y, sample_weight=weight)
            oof = oof[:, np.searchsorted(classes, self.classifier_.classes_)]
        self.classes_ = np.asarray(self.classifier_.classes_, dtype=np.int64)
        self.oof_window_proba_ = self._all_classes(oof)
        if self.smoothing != "auto" and self.smoothing not in METHODS:
            raise ValueError(f"smoothing must be 'auto' or one of {METHODS}, got {self.smoothing!r}")
        self.smoothers_, self.smoothing_scores_ = {}, {}
        # A fixed method is fitted beside the per-window argmax (the reference to compare with);
        # "auto" fits every method.
        methods = METHODS if self.smoothing == "auto" else [m for m in METHODS if m in (self.smoothing, "argmax")]
        # One method after another, each in parallel within (the context model's fits, the
        # other methods' tuning grids).
        keys = windows[WINDOW_KEYS]
        for method in methods:
            smoother = _fit_smoother(self.smoother, method, keys, self.oof_window_proba_, frames, self.n_jobs)
            self.smoothers_[method] = smoother
            self.smoothing_scores_[method] = float(smoother.tuning_scores_["wa"].max())
        if self.smoothing == "auto":
            self.smoothing_ = max(AUTO_SMOOTHING, key=lambda m: (self.smoothing_scores_[m], -AUTO_SMOOTHING.index(m)))
        else:
            self.smoothing_ = self.smoothing
        return self

    def predict_window_proba(self, windows):
        """Posteriors of the six emotions for each window.

        Parameters
        ----------
        windows : DataFrame
            A window table with this pipeline's feature columns.

        Returns
        -------
        proba : ndarray of shape (n_windows, 6)
        """
        proba = self.classifier_.predict_proba(
            self._features(windows), **self._sequences(self.classifier_.predict_proba, windows)
        )
        return self._all_classes(proba)

    def predict_frame_proba(self, windows, n_frames_by_rec):
        """Frame posteriors of the chosen smoother: overlap-added (the input of the Viterbi pass), or the context model's.

        Returns
        -------
        frame_proba : dict of str to ndarray of shape (n_frames, 6), float32
        """
        return self.smoothers_[self.smoothing_].frame_proba(
            windows, self.predict_window_proba(windows), n_frames_by_rec
        )

    def predict_frames(self, windows, n_frames_by_rec, smoothing=None, window_proba=None):
        """Frame labels of every recording.

        Parameters
        ----------
        windows : DataFrame
            A window table with this pipeline's feature columns.
        n_frames_by_rec : dict of str to int
            Frame count of each recording (template rows), in output order.
        smoothing : {"viterbi", "overlap", "argmax", "context"} or None, default=None
            None: the pipeline's own method (``smoothing_``).
        window_proba : ndarray of shape (n_windows, 6), optional
            Already computed window posteriors, to compare smoothers without re-predicting.

        Returns
        -------
        labels : dict of str to ndarray of shape (n_frames,), int8
        """
        method = self.smoothing_ if smoothing is None else smoothing
        if method not in self.smoothers_:
            raise ValueError(f"unknown smoothing {method!r}; known: {sorted(self.smoothers_)}")
        if window_proba is None:
            window_proba = self.predict_window_proba(windows)
        return self.smoothers_[method].predict(windows, window_proba, n_frames_by_rec)

    def set_n_jobs(self, n_jobs):
        """Use ``n_jobs`` workers from now on (prediction of a loaded model)."""
        self.n_jobs = n_jobs
        for model in (getattr(self, "classifier_", None), self.classifier):
            if model is not None and "n_jobs" in model.get_params(deep=False):
                if type(model).__module__.startswith("emo_gbm"):
                    model.set_params(n_jobs=n_jobs)
        return self
