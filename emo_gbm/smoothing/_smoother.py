"""The frame smoother: window posteriors to one label per frame, its parameters tuned out of fold."""

import itertools

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from emo_gbm.constants import N_CLASSES
from emo_gbm.metrics import scored_frames
from emo_gbm.smoothing._constants import (
    CONTEXT_OFFSETS,
    METHODS,
    POSTERIOR_POWER_GRID,
    PRIOR_POWER_GRID,
    PROBA_FLOOR,
    SELF_TRANSITION_GRID,
    TAPERS,
)
from emo_gbm.smoothing._context import context_proba, fit_context_out_of_fold
from emo_gbm.smoothing._hmm import block_means, estimate_transitions, viterbi_many
from emo_gbm.smoothing._overlap import group_windows, nearest_window_labels, overlap_add, sharpen


class FrameSmoother(BaseEstimator):
    """Turn window posteriors into frame labels: overlap-add, then argmax or Viterbi.

    Parameters
    ----------
    method : {"viterbi", "overlap", "argmax", "context"}, default="viterbi"
        ``"argmax"``: each frame takes the argmax of the window whose centre is nearest.
        ``"overlap"``: argmax of the overlap-added posteriors. ``"viterbi"``: HMM decoding
        of the overlap-added posteriors. ``"context"``: argmax of a multinomial logistic
        regression (on standardised inputs) reading the overlap-added log-posteriors of
        the frame and of the frames ``context_offsets`` before and after it
        (:func:`frame_context_features`), fitted on the frames of ``fit``.
    taper : {"flat", "triangular", "hann", "auto"}, default="auto"
        Window weighting for overlap-add; ``"auto"`` tunes it in ``fit``, except for
        ``"context"``, where it means ``"hann"`` (the learned filter over offsets shapes
        the weighting itself, and tuning would refit the model for every candidate).
    posterior_power : float or "auto", default="auto"
        Window posteriors are raised to this power and renormalised before overlap-add
        (:func:`sharpen`); ``"auto"`` tunes it over :data:`POSTERIOR_POWER_GRID`, except
        for ``"context"``, where it means 1 (the model scales the log-posteriors itself).
        The ``"argmax"`` method ignores it (a power keeps each window's argmax).
    self_transition : float or "auto", default="auto"
        Probability of keeping the label from one decoding step to the next; ``"auto"``
        tunes it over :data:`SELF_TRANSITION_GRID`. Off-diagonal transitions keep the
        proportions estimated from the train labels.
    prior_power : float or "auto", default="auto"
        Viterbi emissions are posterior / prior ** prior_power (1 turns posteriors into
        scaled likelihoods, 0 keeps the classifier's priors); ``"auto"`` tunes it over
        :data:`PRIOR_POWER_GRID`.
    step : int, default=10
        Frames per Viterbi step: decoding runs on the mean posterior of each run of
        ``step`` frames, then each step's label is given to its frames.
    context_offsets : sequence of int, default=CONTEXT_OFFSETS
        Frame distances, either side, that the ``"context"`` model reads.
    context_C : float, default=0.1
        Inverse L2 penalty of the ``"context"`` model (on standardised inputs).
    context_stride : int, default=20
        The ``"context"`` model is fitted on every ``context_stride``-th frame of each
        recording (neighbouring frames carry nearly the same information).
    cv : int, default=5
        Folds of the cross-validation, grouped by recording, that scores the ``"context"``
        model on the frames of ``fit``. (Recordings, not actors: the posteriors it reads are
        already out-of-fold over actors, and real data has no actors.)
    n_jobs : int, default=1
        Parallel fits of the ``"context"`` model (on all frames, and one per fold), or
        parallel tuning of the other methods (one task per taper and posterior power); the
        fitted smoother does not depend on it.

    Attributes
    ----------
    taper_, posterior_power_, self_transition_, prior_power_ : the values used (tuned or given).
    class_prior_ : ndarray of shape (n_classes,)
        Agreement-weighted frame label frequencies of the train set.
    base_transition_ : ndarray of shape (n_classes, n_classes)
        Transitions between labels ``step`` frames apart in the train set.
    tuning_scores_ : DataFrame
        WA on the fitting frames for every candidate tried; for ``"context"``, the WA of
        its cross-validation grouped by recording (out-of-fold frame labels).
    context_model_ : Pipeline
        The ``"context"`` model fitted on all frames of ``fit`` (``"context"`` only).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> windows = pd.DataFrame({"rec_id": ["a"] * 3, "start": [0, 2, 4], "stop": [4, 6, 8]})
    >>> proba = np.eye(6)[[1, 1, 1]]
    >>> smoother = FrameSmoother(method="overlap", taper="flat", posterior_power=1.0)
    >>> smoother.predict(windows, proba, {"a": 8})["a"].tolist()
    [1, 1, 1, 1, 1, 1, 1, 1]
    """

    def __init__(
        self,
        method="viterbi",
        taper="auto",
        posterior_power="auto",
        self_transition="auto",
        prior_power="auto",
        step=10,
        context_offsets=CONTEXT_OFFSETS,
        context_C=0.1,
        context_stride=20,
        cv=5,
        n_jobs=1,
    ):
        self.method = method
        self.taper = taper
        self.posterior_power = posterior_power
        self.self_transition = self_transition
        self.prior_power = prior_power
        self.step = step
        self.context_offsets = context_offsets
        self.context_C = context_C
        self.context_stride = context_stride
        self.cv = cv
        self.n_jobs = n_jobs

    def _validate(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.taper != "auto" and self.taper not in TAPERS:
            raise ValueError(f"taper must be 'auto' or one of {TAPERS}, got {self.taper!r}")
        if self.posterior_power != "auto" and not float(self.posterior_power) > 0:
            raise ValueError(f"posterior_power must be 'auto' or > 0, got {self.posterior_power!r}")
        if self.self_transition != "auto" and not 0.0 < float(self.self_transition) < 1.0:
            raise ValueError(f"self_transition must be 'auto' or in (0, 1), got {self.self_transition!r}")
        if self.prior_power != "auto" and float(self.prior_power) < 0:
            raise ValueError(f"prior_power must be 'auto' or >= 0, got {self.prior_power!r}")
        for name in ("step", "context_stride", "cv"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        offsets = np.asarray(self.context_offsets)
        if offsets.ndim != 1 or offsets.size == 0 or not np.issubdtype(offsets.dtype, np.integer) or (offsets < 1).any():
            raise ValueError(f"context_offsets must be a non-empty sequence of positive integers, got {self.context_offsets!r}")
        if not float(self.context_C) > 0:
            raise ValueError(f"context_C must be > 0, got {self.context_C!r}")

    def fit(self, windows, window_proba, frames):
        """Estimate transitions and priors from ``frames``; tune ``"auto"`` parameters on them.

        Parameters
        ----------
        windows : DataFrame
            Columns ``rec_id``, ``start``, ``stop`` of each window.
        window_proba : ndarray of shape (n_windows, 6)
            Posteriors of the windows; for tuning they must be out-of-fold.
        frames : DataFrame
            Frame labels of the same recordings: columns ``rec_id``, ``label``,
            ``agreement``, one row per frame, in frame order within each recording.

        Returns
        -------
        self : FrameSmoother
        """
        self._validate()
        grouped_frames = {
            rec_id: (table["label"].to_numpy(np.int64), table["agreement"].to_numpy())
            for rec_id, table in frames.groupby("rec_id", sort=False)
        }
        grouped_windows = group_windows(windows, window_proba)
        missing = set(grouped_windows) - set(grouped_frames)
        if missing:
            raise ValueError(f"frames lacks the labels of {len(missing)} recordings, e.g. {sorted(missing)[0]!r}")
        labels = [grouped_frames[r][0] for r in grouped_windows]
        agreement = [grouped_frames[r][1] for r in grouped_windows]
        all_labels = np.concatenate(labels)
        prior = np.bincount(all_labels, weights=np.concatenate(agreement), minlength=N_CLASSES) + 1.0
        self.class_prior_ = prior / prior.sum()
        self.base_transition_ = estimate_transitions(labels, self.step)
        n_frames = {r: grouped_frames[r][0].size for r in grouped_windows}
        scored = scored_frames(np.concatenate(agreement))

        def accuracy(predicted):
            return _accuracy({r: predicted[r] for r in grouped_windows}, all_labels, scored)

        if self.method == "context":
            return self._fit_context(grouped_windows, grouped_frames, n_frames, accuracy)
        tapers = TAPERS if self.taper == "auto" else (self.taper,)
        posterior_powers = POSTERIOR_POWER_GRID if self.posterior_power == "auto" else (float(self.posterior_power),)
        if self.method == "argmax":
            tapers, posterior_powers = ("flat",), (1.0,)
        transitions = SELF_TRANSITION_GRID if self.self_transition == "auto" else (float(self.self_transition),)
        powers = PRIOR_POWER_GRID if self.prior_power == "auto" else (float(self.prior_power),)
        if self.method != "viterbi":
            transitions, powers = (np.nan,), (np.nan,)
        # Each (taper, posterior power) is tuned apart, in parallel; the rows keep the grid's order.
        rows = Parallel(n_jobs=self.n_jobs)(
            delayed(self._grid_rows)(grouped_windows, n_frames, taper, sharpness, powers, transitions, all_labels, scored)
            for taper, sharpness in itertools.product(tapers, posterior_powers)
        )
        self.tuning_scores_ = pd.DataFrame([row for chunk in rows for row in chunk])
        best = self.tuning_scores_.loc[self.tuning_scores_["wa"].idxmax()]
        self.taper_ = str(best["taper"])
        self.posterior_power_ = float(best["posterior_power"])
        self.self_transition_ = float(best["self_transition"])
        self.prior_power_ = float(best["prior_power"])
        return self

    def _grid_rows(self, grouped_windows, n_frames, taper, sharpness, powers, transitions, labels, scored):
        """WA of every prior power and self-transition at one taper and posterior power."""
        frame_proba = self._overlap_add(grouped_windows, n_frames, taper, sharpness)
        log_blocks = self._log_blocks(frame_proba) if self.method == "viterbi" else None
        rows = []
        for power in powers:
            if self.method == "viterbi":  # every self-transition decoded in one pass
                decoded = self._decode_many(log_blocks, n_frames, transitions, power)
            elif self.method == "overlap":
                decoded = [{r: p.argmax(axis=1) for r, p in frame_proba.items()}] * len(transitions)
            else:
                decoded = [self._nearest(grouped_windows, n_frames)] * len(transitions)
            for stay, predicted in zip(transitions, decoded):
                params = dict(taper=taper, posterior_power=sharpness, self_transition=stay, prior_power=power)
                rows.append(dict(params, wa=_accuracy(predicted, labels, scored)))
        return rows

    def _fit_context(self, grouped_windows, grouped_frames, n_frames, accuracy):
        """Fit the context model on every ``context_stride``-th frame; score it by grouped CV."""
        taper = "hann" if self.taper == "auto" else self.taper
        power = 1.0 if self.posterior_power == "auto" else float(self.posterior_power)
        frame_proba = self._overlap_add(grouped_windows, n_frames, taper, power)
        self.context_model_, predicted = fit_context_out_of_fold(
            frame_proba, grouped_frames, self.context_offsets, self.context_stride, float(self.context_C), self.cv,
            self.n_jobs,
        )
        params = dict(taper=taper, posterior_power=power, self_transition=np.nan, prior_power=np.nan)
        self.tuning_scores_ = pd.DataFrame([dict(params, wa=accuracy(predicted))])
        self.taper_, self.posterior_power_ = taper, power
        self.self_transition_ = self.prior_power_ = np.nan
        return self

    def _log_blocks(self, frame_proba):
        """Log of the mean posterior of each decoding step, per recording."""
        return {r: np.log(np.maximum(block_means(p, self.step), PROBA_FLOOR)) for r, p in frame_proba.items()}

    def _decode(self, log_blocks, n_frames, self_transition, prior_power):
        return self._decode_many(log_blocks, n_frames, [self_transition], prior_power)[0]

    def _decode_many(self, log_blocks, n_frames, self_transitions, prior_power):
        """Frame labels of every recording, decoded with each of ``self_transitions``."""
        off_diagonal = self.base_transition_ * (1 - np.eye(N_CLASSES))
        off_diagonal /= off_diagonal.sum(axis=1, keepdims=True)
        log_transitions = np.stack([
            np.log(stay * np.eye(N_CLASSES) + (1 - stay) * off_diagonal) for stay in self_transitions
        ])
        log_prior = np.log(self.class_prior_)
        decoded = viterbi_many([b - prior_power * log_prior for b in log_blocks.values()], log_transitions, log_prior)
        return [{r: np.repeat(path, self.step)[: n_frames[r]] for r, path in zip(log_blocks, paths)} for paths in decoded]

    @staticmethod
    def _nearest(grouped_windows, n_frames):
        return {
            r: nearest_window_labels(p.argmax(axis=1), s, e, n_frames[r]) for r, (s, e, p) in grouped_windows.items()
        }

    def _check_recordings(self, grouped_windows, n_frames_by_rec):
        unknown = [r for r in grouped_windows if r not in n_frames_by_rec]
        if unknown:
            raise ValueError(f"n_frames_by_rec lacks {len(unknown)} recordings of windows, e.g. {unknown[0]!r}")
        without = [r for r in n_frames_by_rec if r not in grouped_windows]
        if without:
            raise ValueError(f"{len(without)} recordings have no window, e.g. {without[0]!r}")

    def frame_proba(self, windows, window_proba, n_frames_by_rec):
        """Overlap-added posteriors of every frame; for ``"context"``, the context model's posteriors.

        Parameters
        ----------
        windows : DataFrame
            Columns ``rec_id``, ``start``, ``stop``.
        window_proba : ndarray of shape (n_windows, 6)
        n_frames_by_rec : dict of str to int
            Frame count of each recording; every recording needs at least one window.

        Returns
        -------
        frame_proba : dict of str to ndarray of shape (n_frames, 6), float32
        """
        grouped = group_windows(windows, window_proba)
        self._check_recordings(grouped, n_frames_by_rec)
        frame_proba = self._overlap_add(grouped, n_frames_by_rec, self._in_use("taper"), self._in_use("posterior_power"))
        if self.method == "context":
            check_is_fitted(self, "context_model_")
            frame_proba = self._context_frame_proba(frame_proba)
        return {r: p.astype(np.float32) for r, p in frame_proba.items()}

    def _context_frame_proba(self, frame_proba):
        """The fitted context model's posteriors of every frame, per recording (float64)."""
        return {r: context_proba(self.context_model_, p, self.context_offsets) for r, p in frame_proba.items()}

    @staticmethod
    def _overlap_add(grouped_windows, n_frames_by_rec, taper, power):
        """Overlap-added posteriors of every recording, the window posteriors sharpened first."""
        return {
            r: overlap_add(sharpen(p, float(power)), s, e, int(n_frames_by_rec[r]), taper)
            for r, (s, e, p) in grouped_windows.items()
        }

    def _in_use(self, name):
        """The fitted value of parameter ``name``, else the given one (an unfitted "auto" has none)."""
        if hasattr(self, name + "_"):
            return getattr(self, name + "_")
        if getattr(self, name) == "auto":
            check_is_fitted(self, name + "_")
        return getattr(self, name)

    def predict(self, windows, window_proba, n_frames_by_rec):
        """Label of every frame of every recording.

        Parameters
        ----------
        windows : DataFrame
            Columns ``rec_id``, ``start``, ``stop``.
        window_proba : ndarray of shape (n_windows, 6)
        n_frames_by_rec : dict of str to int
            Frame count of each recording; every recording needs at least one window.

        Returns
        -------
        labels : dict of str to ndarray of shape (n_frames,), int8
            In the order of ``n_frames_by_rec``.
        """
        self._validate()
        if self.method == "viterbi":
            check_is_fitted(self, "self_transition_")
        if self.method == "context":
            check_is_fitted(self, "context_model_")
        grouped = group_windows(windows, window_proba)
        self._check_recordings(grouped, n_frames_by_rec)
        n_frames = {r: int(n) for r, n in n_frames_by_rec.items()}
        if self.method == "argmax":
            predicted = self._nearest(grouped, n_frames)
        else:
            frame_proba = self._overlap_add(grouped, n_frames, self._in_use("taper"), self._in_use("posterior_power"))
            if self.method == "overlap":
                predicted = {r: p.argmax(axis=1) for r, p in frame_proba.items()}
            elif self.method == "context":
                predicted = {r: p.argmax(axis=1) for r, p in self._context_frame_proba(frame_proba).items()}
            else:
                log_blocks = self._log_blocks(frame_proba)
                predicted = self._decode(log_blocks, n_frames, self.self_transition_, self.prior_power_)
        return {r: predicted[r].astype(np.int8) for r in n_frames_by_rec}


def _accuracy(predicted, labels, scored):
    """WA of ``predicted`` (recording -> frame labels) on the ``scored`` frames of ``labels``
    (the recordings' frame labels, concatenated in the order of ``predicted``'s keys)."""
    hits = np.concatenate(list(predicted.values())) == labels
    return float(hits[scored].mean()) if scored.any() else 0.0
