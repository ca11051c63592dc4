"""Frame smoothing: overlap-add, Viterbi decoding, argmax expansion and tuning."""

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GroupKFold

from emo_gbm.smoothing import (
    POSTERIOR_POWER_GRID,
    SELF_TRANSITION_GRID,
    FrameSmoother,
    frame_context_features,
    estimate_transitions,
    nearest_window_labels,
    overlap_add,
    sharpen,
    taper_weights,
    viterbi,
)
from emo_gbm.smoothing._hmm import viterbi_many
from emo_gbm.features import window_starts


def test_overlap_add_exact_on_hand_example():
    proba = np.array([[0.6, 0.4], [0.2, 0.8], [1.0, 0.0]])
    starts, stops = np.array([0, 2, 3]), np.array([4, 6, 7])
    got = overlap_add(proba, starts, stops, 7, taper="flat")
    expected = [
        [0.6, 0.4],
        [0.6, 0.4],
        [0.4, 0.6],  # windows 0 and 1
        [0.6, 0.4],  # windows 0, 1 and 2: (0.6 + 0.2 + 1.0) / 3
        [0.6, 0.4],  # windows 1 and 2
        [0.6, 0.4],
        [1.0, 0.0],
    ]
    np.testing.assert_allclose(got, expected)


def test_overlap_add_taper_weights_towards_centre():
    # Two windows of 3 frames overlapping on frame 2; triangular weights are [0.5, 1, 0.5].
    proba = np.array([[1.0, 0.0], [0.0, 1.0]])
    got = overlap_add(proba, np.array([0, 2]), np.array([3, 5]), 5, taper="triangular")
    np.testing.assert_allclose(got[2], [0.5, 0.5])  # both at their edge: equal weight
    got = overlap_add(proba, np.array([0, 1]), np.array([3, 4]), 4, taper="triangular")
    # Frame 1 is the centre of window 0 (weight 1) and the edge of window 1 (weight 0.5).
    np.testing.assert_allclose(got[1], [1 / 1.5, 0.5 / 1.5])
    assert taper_weights(5, "hann").argmax() == 2 and (taper_weights(5, "hann") > 0).all()


def test_overlap_add_of_short_recording_and_uncovered_frames():
    got = overlap_add(np.array([[0.1, 0.9]]), np.array([0]), np.array([3]), 5)
    np.testing.assert_allclose(got, [[0.1, 0.9]] * 3 + [[0.5, 0.5]] * 2)


def brute_force_path(log_emissions, log_transition, log_initial):
    n_steps, n_states = log_emissions.shape
    best, best_path = -np.inf, None
    for path in itertools.product(range(n_states), repeat=n_steps):
        score = log_initial[path[0]] + log_emissions[0, path[0]]
        score += sum(log_transition[a, b] + log_emissions[t + 1, b] for t, (a, b) in enumerate(zip(path, path[1:])))
        if score > best:
            best, best_path = score, path
    return list(best_path)


def test_viterbi_matches_brute_force_on_sequences_of_different_lengths():
    rng = np.random.default_rng(0)
    n_states = 3
    transition = rng.dirichlet(np.ones(n_states), size=n_states)
    initial = rng.dirichlet(np.ones(n_states))
    emissions = [np.log(rng.dirichlet(np.ones(n_states), size=n)) for n in (1, 4, 6, 2)]
    paths = viterbi(emissions, np.log(transition), np.log(initial))
    for emission, path in zip(emissions, paths):
        assert path.tolist() == brute_force_path(emission, np.log(transition), np.log(initial))


def test_viterbi_many_decodes_each_matrix_as_viterbi_alone():
    rng = np.random.default_rng(1)
    n_states = 3
    transitions = np.log(rng.dirichlet(np.ones(n_states), size=(4, n_states)))
    initial = np.log(rng.dirichlet(np.ones(n_states)))
    emissions = [np.log(rng.dirichlet(np.ones(n_states), size=n)) for n in (1, 5, 7, 3)]
    decoded = viterbi_many(emissions, transitions, initial)
    assert len(decoded) == 4
    for transition, paths in zip(transitions, decoded):
        for emission, path, alone in zip(emissions, paths, viterbi(emissions, transition, initial)):
            assert path.tolist() == alone.tolist() == brute_force_path(emission, transition, initial)


def test_viterbi_breaks_ties_towards_the_lowest_state():
    # every path scores the same: each step keeps the lowest previous state, as argmax would
    flat = np.log(np.full((5, 4), 0.25))
    uniform = np.log(np.full((4, 4), 0.25))
    assert viterbi([flat], uniform, np.log(np.full(4, 0.25)))[0].tolist() == [0] * 5
    # from state 2, states 1 and 3 tie for the last step; state 1 wins
    emissions = np.log(np.array([[0.1, 0.1, 0.7, 0.1], [0.05, 0.45, 0.05, 0.45]]))
    assert viterbi([emissions], uniform, np.log(np.full(4, 0.25)))[0].tolist() == [2, 1]


def one_window_per_frame(frame_proba, rec_id="r"):
    n = frame_proba.shape[0]
    windows = pd.DataFrame({"rec_id": rec_id, "start": np.arange(n), "stop": np.arange(n) + 1})
    return windows, frame_proba


def fitted_smoother(method, step=1, self_transition=0.9, prior_power=0.0):
    """A smoother fitted on long uniform label runs with confident posteriors."""
    labels = np.repeat(np.arange(6), 100)
    frames = pd.DataFrame({"rec_id": "train", "label": labels, "agreement": np.ones(labels.size)})
    windows, proba = one_window_per_frame(np.eye(6)[labels] * 0.9 + 0.1 / 6, "train")
    smoother = FrameSmoother(
        method=method, taper="flat", posterior_power=1.0, self_transition=self_transition, prior_power=prior_power, step=step
    )
    return smoother.fit(windows, proba, frames)


def test_viterbi_removes_isolated_one_frame_flip():
    posteriors = np.full((30, 6), 0.02)
    posteriors[:, 3] = 0.9
    posteriors[15] = 0.02
    posteriors[15, 1] = 0.9  # one frame confidently disagrees with its neighbours
    windows, proba = one_window_per_frame(posteriors)
    viterbi_labels = fitted_smoother("viterbi").predict(windows, proba, {"r": 30})["r"]
    assert (viterbi_labels == 3).all()
    overlap_labels = fitted_smoother("overlap").predict(windows, proba, {"r": 30})["r"]
    assert overlap_labels[15] == 1 and (np.delete(overlap_labels, 15) == 3).all()


def test_viterbi_keeps_a_lasting_change():
    posteriors = np.full((60, 6), 0.02)
    posteriors[:30, 3] = 0.9
    posteriors[30:, 4] = 0.9
    windows, proba = one_window_per_frame(posteriors)
    labels = fitted_smoother("viterbi").predict(windows, proba, {"r": 60})["r"]
    assert labels[:30].tolist() == [3] * 30 and labels[30:].tolist() == [4] * 30


def test_decimated_viterbi_expands_steps_to_frames():
    posteriors = np.full((45, 6), 0.02)
    posteriors[:20, 2] = 0.9
    posteriors[20:, 5] = 0.9
    windows, proba = one_window_per_frame(posteriors)
    labels = fitted_smoother("viterbi", step=10).predict(windows, proba, {"r": 45})["r"]
    assert labels.dtype == np.int8 and labels.shape == (45,)
    assert labels.tolist() == [2] * 20 + [5] * 25


def test_argmax_mode_takes_the_nearest_window():
    starts = window_starts(1000, 400, 100)
    stops = starts + 400
    window_labels = np.arange(starts.size) % 6
    windows = pd.DataFrame({"rec_id": "r", "start": starts, "stop": stops})
    labels = FrameSmoother(method="argmax", taper="flat").predict(windows, np.eye(6)[window_labels], {"r": 1000})["r"]
    centres = starts + 200
    for frame in (0, 249, 250, 251, 555, 999):
        nearest = np.argmin(np.abs(centres - (frame + 0.5)))
        assert labels[frame] == window_labels[nearest]
    assert nearest_window_labels(np.array([7]), np.array([0]), np.array([5]), 3).tolist() == [7, 7, 7]


def simulated_oof(n_recordings, seed, window_logits):
    """Windows of recordings with piecewise-constant true labels, their posteriors the softmax of
    ``window_logits(true_window_labels, rng)``, and the frame labels."""
    rng = np.random.default_rng(seed)
    window_rows, probas, frame_rows = [], [], []
    for r in range(n_recordings):
        n_frames = int(rng.integers(900, 1600))
        labels = np.repeat(rng.integers(0, 6, n_frames // 300 + 1), 300)[:n_frames]
        starts = window_starts(n_frames, 200, 50)
        stops = np.minimum(starts + 200, n_frames)
        logits = window_logits(labels[(starts + stops) // 2], rng)
        probas.append(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
        window_rows.append(pd.DataFrame({"rec_id": f"rec{r}", "start": starts, "stop": stops}))
        frame_rows.append(pd.DataFrame({"rec_id": f"rec{r}", "label": labels, "agreement": rng.uniform(0.5, 1, n_frames)}))
    return pd.concat(window_rows, ignore_index=True), np.vstack(probas), pd.concat(frame_rows, ignore_index=True)


def noisy_oof(n_recordings, seed):
    """Windows with noisy posteriors around piecewise-constant true labels."""
    return simulated_oof(
        n_recordings, seed, lambda true, rng: 1.2 * np.eye(6)[true] + rng.normal(scale=1.0, size=(true.size, 6))
    )


def wa(predicted, frames):
    hits = np.concatenate([predicted[r] for r in frames["rec_id"].unique()]) == frames["label"].to_numpy()
    return hits[frames["agreement"].to_numpy() > 0.6].mean()


def frame_counts(frames):
    """Frame count of each recording, in order of first appearance."""
    return frames.groupby("rec_id", sort=False).size().to_dict()


def held_out_wa(methods, train, test, **params):
    """WA on the ``test`` recordings of a smoother of each method fitted on the ``train`` ones;
    each of ``train`` and ``test`` is (windows, window posteriors, frames)."""
    test_windows, test_proba, test_frames = test
    n_frames = frame_counts(test_frames)
    return {
        method: wa(FrameSmoother(method=method, **params).fit(*train).predict(test_windows, test_proba, n_frames), test_frames)
        for method in methods
    }


def test_tuned_viterbi_beats_overlap_and_argmax_on_held_out_recordings():
    train = train_windows, train_proba, train_frames = noisy_oof(30, seed=1)
    scores = held_out_wa(("argmax", "overlap", "viterbi"), train, noisy_oof(20, seed=2))
    assert scores["viterbi"] > scores["overlap"] + 0.01
    assert scores["overlap"] > scores["argmax"]
    tuned = FrameSmoother().fit(train_windows, train_proba, train_frames)
    assert tuned.self_transition_ in SELF_TRANSITION_GRID
    assert len(tuned.tuning_scores_) == 3 * len(POSTERIOR_POWER_GRID) * 3 * len(SELF_TRANSITION_GRID)
    in_sample = wa(tuned.predict(train_windows, train_proba, frame_counts(train_frames)), train_frames)
    assert tuned.tuning_scores_["wa"].max() == pytest.approx(in_sample)


def test_sharpen_keeps_each_window_argmax_and_sums_to_one():
    proba = np.random.default_rng(0).dirichlet(np.ones(6), size=50)
    np.testing.assert_array_equal(sharpen(proba, 1.0), proba)
    for power in POSTERIOR_POWER_GRID:
        sharpened = sharpen(proba, power)
        np.testing.assert_allclose(sharpened.sum(axis=1), 1)
        np.testing.assert_array_equal(sharpened.argmax(axis=1), proba.argmax(axis=1))
    # Above 1 the winning class gains, below 1 it loses.
    assert (sharpen(proba, 2.0).max(axis=1) > proba.max(axis=1)).all()
    assert (sharpen(proba, 0.5).max(axis=1) < proba.max(axis=1)).all()


def test_posterior_power_turns_overlap_add_towards_a_vote():
    # Frame 3 is covered by all four windows: three hesitantly say class 0, one confidently class 1.
    hesitant, confident = [0.4] + [0.12] * 5, [0.0, 0.95] + [0.0125] * 4
    proba = np.array([hesitant, hesitant, hesitant, confident])
    windows = pd.DataFrame({"rec_id": "r", "start": [0, 1, 2, 3], "stop": [4, 5, 6, 7]})
    labels = {
        power: FrameSmoother(method="overlap", taper="flat", posterior_power=power).predict(windows, proba, {"r": 7})["r"]
        for power in (0.5, 1.0, 4.0)
    }
    assert labels[0.5][3] == 1 and labels[1.0][3] == 1  # the mean follows the confident window
    assert labels[4.0][3] == 0  # the near-vote follows the majority


def confidently_wrong_oof(n_recordings, seed):
    """Windows that mostly lean mildly to the true label, a quarter confidently to a wrong one."""

    def logits(true, rng):
        wrong = rng.random(true.size) < 0.25
        leaning = np.where(wrong, (true + rng.integers(1, 6, true.size)) % 6, true)
        return np.where(wrong, 4.0, 1.0)[:, None] * np.eye(6)[leaning] + rng.normal(scale=0.3, size=(true.size, 6))

    return simulated_oof(n_recordings, seed, logits)


def test_tuned_posterior_power_helps_held_out_recordings_with_confidently_wrong_windows():
    train_windows, train_proba, train_frames = confidently_wrong_oof(15, seed=1)
    test_windows, test_proba, test_frames = confidently_wrong_oof(15, seed=2)
    n_frames = frame_counts(test_frames)
    tuned = FrameSmoother(method="overlap").fit(train_windows, train_proba, train_frames)
    assert tuned.posterior_power_ > 1.0
    assert set(tuned.tuning_scores_["posterior_power"]) == set(POSTERIOR_POWER_GRID)
    plain = FrameSmoother(method="overlap", posterior_power=1.0).fit(train_windows, train_proba, train_frames)
    tuned_wa = wa(tuned.predict(test_windows, test_proba, n_frames), test_frames)
    assert tuned_wa > wa(plain.predict(test_windows, test_proba, n_frames), test_frames) + 0.05


def late_oof(n_recordings, seed, lag=100):
    """Noisy window posteriors that describe the labels ``lag`` frames earlier than the frames
    they cover: a smoother has to look ahead to line them up with the labels."""
    windows, proba, frames = noisy_oof(n_recordings, seed)
    shifted = []
    for _, table in frames.groupby("rec_id", sort=False):
        labels = table["label"].to_numpy()
        shifted.append(np.concatenate([labels[lag:], np.full(lag, labels[-1])]))
    return windows, proba, frames.assign(label=np.concatenate(shifted))


def test_context_features_read_both_sides_and_clamp_at_the_ends():
    proba = np.eye(6)[[0, 1, 2, 3, 4]] * 0.5 + 0.5 / 6
    got = frame_context_features(proba, [1, 3])
    assert got.shape == (5, 6 * 5)
    blocks = got.reshape(5, 5, 6).argmax(axis=2)  # the class each block's frame has
    # blocks: the frame, one before, one after, three before, three after (clamped to 0..4)
    assert blocks[0].tolist() == [0, 0, 1, 0, 3]
    assert blocks[2].tolist() == [2, 1, 3, 0, 4]
    assert blocks[4].tolist() == [4, 3, 4, 1, 4]
    np.testing.assert_array_equal(frame_context_features(proba, [1, 3], rows=np.array([2])), got[[2]])


def test_context_model_learns_to_look_ahead_where_overlap_cannot():
    train, test = late_oof(60, seed=1), late_oof(10, seed=2)
    scores = held_out_wa(("overlap", "viterbi", "context"), train, test, context_offsets=(50, 100, 150), context_stride=10)
    assert scores["context"] > max(scores["overlap"], scores["viterbi"]) + 0.04
    # Without offsets as far as the lag, the model has little to go on.
    near = held_out_wa(("context",), train, test, context_offsets=(10,), context_stride=10)["context"]
    assert scores["context"] > near + 0.05


def test_context_score_is_out_of_fold_wa_grouped_by_recording():
    windows, proba, frames = late_oof(8, seed=3)
    params = dict(method="context", context_offsets=(50, 100), cv=3)
    fitted = FrameSmoother(**params).fit(windows, proba, frames)
    assert len(fitted.tuning_scores_) == 1
    recordings = np.array([f"rec{r}" for r in range(8)])
    by_hand = {}
    for fit_index, held_index in GroupKFold(3).split(recordings, groups=np.arange(8)):
        fit_recs, held_recs = recordings[fit_index], recordings[held_index]
        rows = windows["rec_id"].isin(fit_recs).to_numpy()
        model = FrameSmoother(**params).fit(windows[rows], proba[rows], frames[frames["rec_id"].isin(fit_recs)])
        held = windows["rec_id"].isin(held_recs).to_numpy()
        n_frames = frame_counts(frames[frames["rec_id"].isin(held_recs)])
        by_hand.update(model.predict(windows[held], proba[held], n_frames))
    assert fitted.tuning_scores_["wa"].iloc[0] == pytest.approx(wa(by_hand, frames))
    # Its frame posteriors are the model's: they sum to one and give the predicted labels.
    n_frames = frame_counts(frames)
    frame_proba = fitted.frame_proba(windows, proba, n_frames)
    labels = fitted.predict(windows, proba, n_frames)
    for r in n_frames:
        np.testing.assert_allclose(frame_proba[r].sum(axis=1), 1, rtol=1e-5)
        np.testing.assert_array_equal(frame_proba[r].argmax(axis=1), labels[r])


def test_context_fits_in_parallel_equal_the_serial_ones():
    windows, proba, frames = late_oof(6, seed=5)
    params = dict(method="context", context_offsets=(50, 100), cv=3)
    serial = FrameSmoother(**params).fit(windows, proba, frames)
    parallel = FrameSmoother(**params, n_jobs=2).fit(windows, proba, frames)
    assert serial.tuning_scores_["wa"].iloc[0] == parallel.tuning_scores_["wa"].iloc[0]
    np.testing.assert_array_equal(serial.context_model_[-1].coef_, parallel.context_model_[-1].coef_)
    n_frames = frame_counts(frames)
    for r, labels in serial.predict(windows, proba, n_frames).items():
        np.testing.assert_array_equal(labels, parallel.predict(windows, proba, n_frames)[r])


def test_context_model_with_a_single_recording_or_class():
    windows, proba, frames = noisy_oof(2, seed=4)
    n_frames = frame_counts(frames)
    first = windows["rec_id"] == "rec0"
    one = FrameSmoother(method="context").fit(windows[first], proba[first], frames[frames["rec_id"] == "rec0"])
    in_sample = wa(one.predict(windows[first], proba[first], {"rec0": n_frames["rec0"]}), frames[frames["rec_id"] == "rec0"])
    assert one.tuning_scores_["wa"].iloc[0] == pytest.approx(in_sample)
    one_class = FrameSmoother(method="context").fit(windows, proba, frames.assign(label=2))
    labels = one_class.predict(windows, proba, n_frames)
    assert all((labels[r] == 2).all() for r in n_frames)


def test_estimated_transitions_are_row_stochastic_and_follow_the_labels():
    transition = estimate_transitions([np.repeat([0, 1, 0, 1], 50)], step=10)
    np.testing.assert_allclose(transition.sum(axis=1), 1)
    assert transition[0, 0] > transition[0, 1] > transition[0, 2]


def test_predict_follows_template_order_and_frame_counts():
    windows = pd.DataFrame({"rec_id": ["b", "b", "a"], "start": [0, 100, 0], "stop": [400, 500, 150]})
    proba = np.eye(6)[[1, 1, 4]]
    out = FrameSmoother(method="overlap", taper="hann", posterior_power=1.0).predict(windows, proba, {"a": 150, "b": 500})
    assert list(out) == ["a", "b"]
    assert out["a"].shape == (150,) and (out["a"] == 4).all() and (out["b"] == 1).all()
    assert out["a"].dtype == np.int8
    frame_proba = FrameSmoother(method="overlap", taper="flat", posterior_power=1.0).frame_proba(windows, proba, {"a": 150, "b": 500})
    np.testing.assert_allclose(frame_proba["b"].sum(axis=1), 1, rtol=1e-6)


def test_smoother_rejects_bad_input():
    windows = pd.DataFrame({"rec_id": ["a"], "start": [0], "stop": [10]})
    with pytest.raises(ValueError, match="method"):
        FrameSmoother(method="median").predict(windows, np.eye(6)[[0]], {"a": 10})
    with pytest.raises(ValueError, match="lacks"):
        FrameSmoother(method="overlap", taper="flat").predict(windows, np.eye(6)[[0]], {"b": 10})
    with pytest.raises(ValueError, match="no window"):
        FrameSmoother(method="overlap", taper="flat").predict(windows, np.eye(6)[[0]], {"a": 10, "c": 5})
    with pytest.raises(ValueError, match="shape"):
        FrameSmoother(method="overlap", taper="flat").predict(windows, np.ones((1, 5)) / 5, {"a": 10})
    with pytest.raises(ValueError, match="posterior_power"):
        FrameSmoother(method="overlap", posterior_power=0.0).predict(windows, np.eye(6)[[0]], {"a": 10})
    with pytest.raises(NotFittedError):
        FrameSmoother().predict(windows, np.eye(6)[[0]], {"a": 10})
    with pytest.raises(NotFittedError):  # an unfitted "auto" posterior power has no value yet
        FrameSmoother(method="overlap", taper="flat").predict(windows, np.eye(6)[[0]], {"a": 10})
    with pytest.raises(NotFittedError):
        FrameSmoother(method="context", taper="flat", posterior_power=1.0).predict(windows, np.eye(6)[[0]], {"a": 10})
    for bad in ((), (0, 50), (1.5,), "50"):
        with pytest.raises(ValueError, match="context_offsets"):
            FrameSmoother(method="context", context_offsets=bad).predict(windows, np.eye(6)[[0]], {"a": 10})
    with pytest.raises(ValueError, match="context_C"):
        FrameSmoother(method="context", context_C=0).predict(windows, np.eye(6)[[0]], {"a": 10})
    with pytest.raises(ValueError, match="context_stride"):
        FrameSmoother(method="context", context_stride=0).predict(windows, np.eye(6)[[0]], {"a": 10})
