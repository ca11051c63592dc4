"""From window posteriors to one label per 0.01 s frame.

Windows overlap, so each frame is covered by several windows. :class:`FrameSmoother`
averages the posteriors of the windows covering a frame (overlap-add, optionally weighted
towards each window's centre and with the posteriors sharpened or flattened by a power
first), then labels frames by argmax, by a Viterbi pass of an HMM whose transitions are estimated
from the train labels (which removes the short label flips that averaged posteriors still
show), or by a context model: a logistic regression reading the averaged log-posteriors of
the frame and of frames up to 4 s either side, a learned filter that can undo some of the
blur of 4 s windows. Its parameters are tuned, and the context model fitted, on
out-of-fold posteriors of the train set.
"""

import itertools

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from emo_gbm.constants import N_CLASSES
from emo_gbm.metrics import scored_frames


#: Methods of :class:`FrameSmoother`.
METHODS = ("viterbi", "overlap", "argmax", "context")

#: Window weightings for overlap-add: flat, or falling towards the window's edges.
TAPERS = ("flat", "triangular", "hann")

#: Candidates for the tuned HMM self-transition probability (per decoding step).
SELF_TRANSITION_GRID = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999)

#: Candidates for the tuned prior exponent: emissions are posterior / prior ** prior_power.
PRIOR_POWER_GRID = (0.0, 0.5, 1.0)

#: Candidates for the tuned power of the window posteriors before overlap-add.
POSTERIOR_POWER_GRID = (1.0, 2.0)

#: Frames either side of a frame whose overlap-added log-posteriors the context model reads
#: (besides the frame's own): 0.5 s apart up to 2 s, then 3 and 4 s.
CONTEXT_OFFSETS = (50, 100, 150, 200, 300, 400)

#: Posteriors are floored here before the log, so no class is ever impossible.
_PROBA_FLOOR = 1e-6


def taper_weights(length, taper):
    """Weight of each frame of a window of ``length`` frames in overlap-add.

    Parameters
    ----------
    length : int
    taper : {"flat", "triangular", "hann"}
        Tapered weights are positive everywhere, largest at the centre.

    Returns
    -------
    weights : ndarray of shape (length,), float64

    Examples
    --------
    >>> taper_weights(3, "triangular").tolist()
    [0.5, 1.0, 0.5]
    >>> taper_weights(2, "flat").tolist()
    [1.0, 1.0]
    """
    if taper == "flat":
        return np.ones(length)
    if taper == "triangular":
        return np.bartlett(length + 2)[1:-1]
    if taper == "hann":
        return np.hanning(length + 2)[1:-1]
    raise ValueError(f"unknown taper {taper!r}; known: {TAPERS}")


def sharpen(window_proba, power):
    """Window posteriors raised to ``power`` and renormalised (a temperature of ``1 / power``).

    Each window keeps its argmax, but the overlap-added average changes: above 1 it moves
    towards a vote of the windows' labels, so one confidently wrong window no longer
    outweighs several hesitant right ones; towards 0 it approaches the mean of the
    log-posteriors, where one confident window can veto a class.

    Parameters
    ----------
    window_proba : ndarray of shape (n_windows, n_classes)
    power : float
        Positive; 1 returns the posteriors unchanged.

    Returns
    -------
    sharpened : ndarray of shape (n_windows, n_classes), float64
        Rows sum to 1.

    Examples
    --------
    >>> import numpy as np
    >>> sharpen(np.array([[0.6, 0.2, 0.2]]), 2.0).round(3).tolist()
    [[0.818, 0.091, 0.091]]
    """
    window_proba = np.asarray(window_proba, dtype=np.float64)
    if power == 1.0:
        return window_proba
    powered = np.maximum(window_proba, _PROBA_FLOOR) ** power
    return powered / powered.sum(axis=1, keepdims=True)


def overlap_add(window_proba, starts, stops, n_frames, taper="flat"):
    """Per-frame posteriors: the weighted mean of the posteriors of the windows covering each frame.

    Parameters
    ----------
    window_proba : ndarray of shape (n_windows, n_classes)
    starts, stops : ndarray of shape (n_windows,), int
        Frames ``[start, stop)`` of each window; all windows of a recording have the same
        length except that none extends past ``n_frames``.
    n_frames : int
    taper : {"flat", "triangular", "hann"}, default="flat"

    Returns
    -------
    frame_proba : ndarray of shape (n_frames, n_classes), float64
        Frames no window covers get the uniform distribution.

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> overlap_add(proba, np.array([0, 2]), np.array([4, 6]), 6).tolist()
    [[1.0, 0.0], [1.0, 0.0], [0.5, 0.5], [0.5, 0.5], [0.0, 1.0], [0.0, 1.0]]
    """
    window_proba = np.asarray(window_proba, dtype=np.float64)
    starts = np.asarray(starts, dtype=np.int64)
    stops = np.asarray(stops, dtype=np.int64)
    n_classes = window_proba.shape[1]
    if starts.size == 0:
        return np.full((n_frames, n_classes), 1.0 / n_classes)
    length = int((stops - starts).max())
    offsets = np.arange(length)
    frames = starts[:, None] + offsets
    inside = frames < stops[:, None]
    weights = np.broadcast_to(taper_weights(length, taper), frames.shape)[inside]
    frames = frames[inside]
    window_of = np.broadcast_to(np.arange(starts.size)[:, None], inside.shape)[inside]
    total = np.bincount(frames, weights=weights, minlength=n_frames)
    frame_proba = np.column_stack(
        [np.bincount(frames, weights=weights * window_proba[window_of, k], minlength=n_frames) for k in range(n_classes)]
    )
    covered = total > 0
    frame_proba[covered] /= total[covered, None]
    frame_proba[~covered] = 1.0 / n_classes
    return frame_proba[:n_frames]


def nearest_window_labels(window_labels, starts, stops, n_frames):
    """Label of each frame from the window whose centre is nearest (ties: the earlier one).

    Examples
    --------
    >>> import numpy as np
    >>> nearest_window_labels(np.array([2, 5]), np.array([0, 2]), np.array([4, 6]), 6).tolist()
    [2, 2, 2, 5, 5, 5]
    """
    centres = (np.asarray(starts) + np.asarray(stops)) / 2.0
    order = np.argsort(centres, kind="stable")
    centres = centres[order]
    frame_centres = np.arange(n_frames) + 0.5
    right = np.clip(np.searchsorted(centres, frame_centres), 0, centres.size - 1)
    left = np.clip(right - 1, 0, centres.size - 1)
    use_left = np.abs(frame_centres - centres[left]) <= np.abs(centres[right] - frame_centres)
    return np.asarray(window_labels)[order][np.where(use_left, left, right)]


def viterbi(log_emissions, log_transition, log_initial):
    """Most likely state paths of several sequences at once.

    Loops over time and vectorises over sequences and states; the sequences may have
    different lengths.

    Parameters
    ----------
    log_emissions : list of ndarray of shape (n_steps_i, n_states)
    log_transition : ndarray of shape (n_states, n_states)
        ``log_transition[i, j]`` = log P(next = j | current = i).
    log_initial : ndarray of shape (n_states,)

    Returns
    -------
    paths : list of ndarray of shape (n_steps_i,), int64

    Examples
    --------
    >>> import numpy as np
    >>> stay = np.log(np.array([[0.9, 0.1], [0.1, 0.9]]))
    >>> emissions = np.log(np.array([[0.8, 0.2], [0.4, 0.6], [0.9, 0.1]]))
    >>> viterbi([emissions], stay, np.log([0.5, 0.5]))[0].tolist()
    [0, 0, 0]
    """
    lengths = np.array([e.shape[0] for e in log_emissions], dtype=np.int64)
    n_sequences, n_states = lengths.size, log_transition.shape[0]
    if n_sequences == 0:
        return []
    n_steps = int(lengths.max())
    padded = np.zeros((n_sequences, n_steps, n_states))
    for i, emissions in enumerate(log_emissions):
        padded[i, : emissions.shape[0]] = emissions
    backpointers = np.zeros((n_sequences, n_steps, n_states), dtype=np.int8)
    score = log_initial[None, :] + padded[:, 0]
    final_score = np.where((lengths == 1)[:, None], score, 0.0)
    for t in range(1, n_steps):
        candidates = score[:, :, None] + log_transition[None, :, :]
        backpointers[:, t] = candidates.argmax(axis=1)
        score = candidates.max(axis=1) + padded[:, t]
        ending = lengths == t + 1
        final_score[ending] = score[ending]
    # Backtrack all sequences together; a sequence joins when t reaches its own last step.
    paths = np.zeros((n_sequences, n_steps), dtype=np.int64)
    state = final_score.argmax(axis=1)
    rows = np.arange(n_sequences)
    for t in range(n_steps - 1, -1, -1):
        state = np.where(lengths - 1 == t, final_score.argmax(axis=1), state)
        paths[:, t] = state
        if t > 0:
            state = np.where(t < lengths, backpointers[rows, t, state], state)
    return [paths[i, : lengths[i]] for i in range(n_sequences)]


def estimate_transitions(label_sequences, step, n_classes=N_CLASSES):
    """Transition probabilities between labels ``step`` frames apart, Laplace-smoothed.

    Parameters
    ----------
    label_sequences : list of ndarray of int
        Frame labels of each train recording.
    step : int
        Frames per decoding step.

    Returns
    -------
    transition : ndarray of shape (n_classes, n_classes)

    Examples
    --------
    >>> import numpy as np
    >>> estimate_transitions([np.array([0, 0, 0, 1, 1, 1])], step=1, n_classes=2).round(2).tolist()
    [[0.6, 0.4], [0.25, 0.75]]
    """
    counts = np.ones((n_classes, n_classes))
    for labels in label_sequences:
        sampled = np.asarray(labels)[::step]
        np.add.at(counts, (sampled[:-1], sampled[1:]), 1.0)
    return counts / counts.sum(axis=1, keepdims=True)


def _group_windows(windows, window_proba):
    """Per recording: (starts, stops, posteriors), in order of first appearance."""
    rec_ids = windows["rec_id"].to_numpy()
    starts = windows["start"].to_numpy(dtype=np.int64)
    stops = windows["stop"].to_numpy(dtype=np.int64)
    window_proba = np.asarray(window_proba, dtype=np.float64)
    if window_proba.shape != (len(windows), N_CLASSES):
        raise ValueError(f"window_proba must have shape ({len(windows)}, {N_CLASSES}), got {window_proba.shape}")
    codes, uniques = pd.factorize(rec_ids)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(uniques.size + 1))
    return {
        rec_id: (starts[order[a:b]], stops[order[a:b]], window_proba[order[a:b]])
        for rec_id, a, b in zip(uniques, bounds[:-1], bounds[1:])
    }


def _block_means(frame_proba, step):
    """Mean posterior of each run of ``step`` frames (the last run may be shorter)."""
    n_frames = frame_proba.shape[0]
    firsts = np.arange(0, n_frames, step)
    sizes = np.diff(np.append(firsts, n_frames))
    return np.add.reduceat(frame_proba, firsts, axis=0) / sizes[:, None]


def context_features(frame_proba, offsets, rows=None):
    """Log-posteriors of each frame and of the frames ``offsets`` before and after it.

    On the frame grid a neighbour is an index shift, clamped at the ends, so only the wanted
    rows are looked up: the same values as :func:`emo_gbm.ensemble.stacking.context_features` over one
    recording at ``-offset`` and ``+offset``, whose sorted search for windows at arbitrary
    positions would read every frame to keep one in 20 when fitting.

    Parameters
    ----------
    frame_proba : ndarray of shape (n_frames, n_classes)
    offsets : sequence of int
        Positive frame distances; a frame beyond either end of the recording reads the
        first or last frame.
    rows : ndarray of int, optional
        The frames wanted (default: all).

    Returns
    -------
    features : ndarray of shape (n_rows, n_classes * (1 + 2 * len(offsets))), float64
        Blocks of ``n_classes`` columns: the frame itself, then for each offset the frame
        that far before and the one that far after.

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])
    >>> np.exp(context_features(proba, [1], rows=np.array([0]))).round(6).tolist()
    [[0.5, 0.5, 0.5, 0.5, 1.0, 1e-06]]
    """
    log_proba = np.log(np.maximum(np.asarray(frame_proba, dtype=np.float64), _PROBA_FLOOR))
    n_frames = log_proba.shape[0]
    rows = np.arange(n_frames) if rows is None else np.asarray(rows, dtype=np.int64)
    shifts = [0] + [sign * int(o) for o in offsets for sign in (-1, 1)]
    return np.hstack([log_proba[np.clip(rows + shift, 0, n_frames - 1)] for shift in shifts])


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
        (:func:`context_features`), fitted on the frames of ``fit``.
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
        grouped_windows = _group_windows(windows, window_proba)
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
            hits = np.concatenate([predicted[r] for r in grouped_windows]) == all_labels
            return float(hits[scored].mean()) if scored.any() else 0.0

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
        rows = []
        for taper, sharpness in itertools.product(tapers, posterior_powers):
            frame_proba = self._overlap_add(grouped_windows, n_frames, taper, sharpness)
            log_blocks = self._log_blocks(frame_proba) if self.method == "viterbi" else None
            for power in powers:
                for stay in transitions:
                    params = dict(taper=taper, posterior_power=sharpness, self_transition=stay, prior_power=power)
                    if self.method == "viterbi":
                        predicted = self._decode(log_blocks, n_frames, stay, power)
                    elif self.method == "overlap":
                        predicted = {r: p.argmax(axis=1) for r, p in frame_proba.items()}
                    else:
                        predicted = self._nearest(grouped_windows, n_frames)
                    rows.append(dict(params, wa=accuracy(predicted)))
        self.tuning_scores_ = pd.DataFrame(rows)
        best = self.tuning_scores_.loc[self.tuning_scores_["wa"].idxmax()]
        self.taper_ = str(best["taper"])
        self.posterior_power_ = float(best["posterior_power"])
        self.self_transition_ = float(best["self_transition"])
        self.prior_power_ = float(best["prior_power"])
        return self

    def _fit_context(self, grouped_windows, grouped_frames, n_frames, accuracy):
        """Fit the context model on every ``context_stride``-th frame; score it by grouped CV."""
        taper = "hann" if self.taper == "auto" else self.taper
        power = 1.0 if self.posterior_power == "auto" else float(self.posterior_power)
        frame_proba = self._overlap_add(grouped_windows, n_frames, taper, power)
        recordings = list(grouped_windows)
        rows = {r: np.arange(0, n_frames[r], self.context_stride) for r in recordings}
        features = {r: context_features(frame_proba[r], self.context_offsets, rows[r]) for r in recordings}
        labels = {r: grouped_frames[r][0][rows[r]] for r in recordings}
        scored = {r: scored_frames(grouped_frames[r][1][rows[r]]).astype(np.float64) for r in recordings}

        def fit_on(subset):
            y = np.concatenate([labels[r] for r in subset])
            weight = np.concatenate([scored[r] for r in subset])
            if not weight.any():  # no scored frame: every frame counts
                weight = np.ones_like(weight)
            X = np.vstack([features[r] for r in subset])
            if np.unique(y[weight > 0]).size < 2:
                return DummyClassifier(strategy="prior").fit(X, y, sample_weight=weight)
            model = make_pipeline(StandardScaler(), LogisticRegression(C=float(self.context_C), max_iter=1000))
            return model.fit(X, y, logisticregression__sample_weight=weight)

        self.context_model_ = fit_on(recordings)
        if len(recordings) >= 2:
            predicted = {}
            folds = GroupKFold(min(self.cv, len(recordings))).split(recordings, groups=np.arange(len(recordings)))
            for fit_index, held_index in folds:
                model = fit_on([recordings[i] for i in fit_index])
                for i in held_index:
                    predicted[recordings[i]] = self._context_proba(model, frame_proba[recordings[i]]).argmax(axis=1)
        else:  # a single recording: nothing to hold out, the score is in-sample
            predicted = {r: self._context_proba(self.context_model_, p).argmax(axis=1) for r, p in frame_proba.items()}
        params = dict(taper=taper, posterior_power=power, self_transition=np.nan, prior_power=np.nan)
        self.tuning_scores_ = pd.DataFrame([dict(params, wa=accuracy(predicted))])
        self.taper_, self.posterior_power_ = taper, power
        self.self_transition_ = self.prior_power_ = np.nan
        return self

    def _context_proba(self, model, frame_proba):
        """Posteriors of a context model for every frame of a recording, one column per class."""
        proba = np.zeros((frame_proba.shape[0], N_CLASSES))
        proba[:, model.classes_] = model.predict_proba(context_features(frame_proba, self.context_offsets))
        return proba

    def _log_blocks(self, frame_proba):
        """Log of the mean posterior of each decoding step, per recording."""
        return {r: np.log(np.maximum(_block_means(p, self.step), _PROBA_FLOOR)) for r, p in frame_proba.items()}

    def _decode(self, log_blocks, n_frames, self_transition, prior_power):
        off_diagonal = self.base_transition_ * (1 - np.eye(N_CLASSES))
        off_diagonal /= off_diagonal.sum(axis=1, keepdims=True)
        transition = self_transition * np.eye(N_CLASSES) + (1 - self_transition) * off_diagonal
        log_prior = np.log(self.class_prior_)
        paths = viterbi([b - prior_power * log_prior for b in log_blocks.values()], np.log(transition), log_prior)
        return {r: np.repeat(path, self.step)[: n_frames[r]] for r, path in zip(log_blocks, paths)}

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
        grouped = _group_windows(windows, window_proba)
        self._check_recordings(grouped, n_frames_by_rec)
        frame_proba = self._overlap_add(grouped, n_frames_by_rec, self._in_use("taper"), self._in_use("posterior_power"))
        if self.method == "context":
            check_is_fitted(self, "context_model_")
            frame_proba = {r: self._context_proba(self.context_model_, p) for r, p in frame_proba.items()}
        return {r: p.astype(np.float32) for r, p in frame_proba.items()}

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
        grouped = _group_windows(windows, window_proba)
        self._check_recordings(grouped, n_frames_by_rec)
        n_frames = {r: int(n) for r, n in n_frames_by_rec.items()}
        if self.method == "argmax":
            predicted = self._nearest(grouped, n_frames)
        else:
            frame_proba = self._overlap_add(grouped, n_frames, self._in_use("taper"), self._in_use("posterior_power"))
            if self.method == "overlap":
                predicted = {r: p.argmax(axis=1) for r, p in frame_proba.items()}
            elif self.method == "context":
                predicted = {r: self._context_proba(self.context_model_, p).argmax(axis=1) for r, p in frame_proba.items()}
            else:
                log_blocks = self._log_blocks(frame_proba)
                predicted = self._decode(log_blocks, n_frames, self.self_transition_, self.prior_power_)
        return {r: predicted[r].astype(np.int8) for r in n_frames_by_rec}
