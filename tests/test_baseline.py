"""The baseline workflow: sequence windows from recordings, training, frame labels."""

import numpy as np
import pytest

from emo_gbm.baseline import (
    DEFAULT_STRIDES,
    average_window_posteriors,
    predict_baseline,
    predict_baseline_proba,
    train_baseline,
    windows_from_recordings,
)
from emo_gbm.constants import MODALITIES, N_FEATURES
from emo_gbm.data.recording import Recording
from emo_gbm.features import window_starts


def frame_index_recording(n_frames, rec_id="id00000001"):
    """Every modality present, feature 0 = frame index, feature 1 = modality number."""
    rec = Recording.empty(rec_id, np.arange(n_frames) / 100,
                          labels=np.zeros(n_frames, dtype=np.int8),
                          agreement=np.ones(n_frames, dtype=np.float32))
    for k, m in enumerate(MODALITIES):
        rec.streams[m][:] = 0.5
        rec.streams[m][:, 0] = np.arange(n_frames)
        rec.streams[m][:, 1] = k
        rec.present[m][:] = True
    return rec


def test_default_strides_follow_the_native_rates():
    assert DEFAULT_STRIDES == {"audio": 1, "face_nn": 2, "eyes": 2, "kinect": 7}


def test_each_modality_is_sampled_at_its_own_stride_from_the_window_start():
    rec = frame_index_recording(1000)
    w = windows_from_recordings([rec], length=400, hop=300)
    np.testing.assert_array_equal(w.start, window_starts(1000, 400, 300))
    for m, stride in DEFAULT_STRIDES.items():
        steps = np.arange(0, 400, stride)
        assert w.X[m].shape == (len(w.start), len(steps), N_FEATURES[m])
        np.testing.assert_array_equal(w.X[m][:, :, 0], w.start[:, None] + steps[None, :])
        assert (w.X[m][:, :, 1] == MODALITIES.index(m)).all()
    assert w.X["kinect"].shape[1] == 58


def test_missing_values_become_zero_or_stay_nan_and_short_recordings_are_padded():
    rec = frame_index_recording(250)
    rec.streams["face_nn"][100:150] = np.nan
    rec.present["face_nn"][100:150] = False
    rec.streams["eyes"][:, 3] = np.nan  # single missing cells, not whole rows
    w = windows_from_recordings([rec], length=400, hop=400)
    assert len(w.start) == 1
    audio = w.X["audio"][0]
    np.testing.assert_array_equal(audio[:250, 0], np.arange(250))
    assert (audio[250:] == 0).all()  # beyond the recording's end: missing
    assert (w.X["face_nn"][0, 50:75] == 0).all() and (w.X["face_nn"][0, 75:125, 2] == 0.5).all()
    assert (w.X["eyes"][0, :, 3] == 0).all()
    kept = windows_from_recordings([rec], length=400, hop=400, missing_value=np.nan)
    assert np.isnan(kept.X["audio"][0, 250:]).all() and not np.isnan(kept.X["audio"][0, :250]).any()
    assert np.isnan(kept.X["face_nn"][0, 50:75]).all()


def test_window_label_is_the_agreement_weighted_majority_and_weight_the_mean_agreement():
    rec = frame_index_recording(400)
    # 60 % of the frames say Sad with low agreement, 40 % say Happy with high agreement.
    rec.labels[:240] = 1
    rec.agreement[:240] = 0.2
    rec.labels[240:] = 3
    rec.agreement[240:] = 0.9
    w = windows_from_recordings([rec])
    assert w.labels.tolist() == [3]
    assert w.weights[0] == pytest.approx(0.6 * 0.2 + 0.4 * 0.9)
    # Equal agreement mass: the class with more frames wins.
    rec.agreement[:240] = 0.6
    rec.agreement[240:] = 0.9
    assert windows_from_recordings([rec]).labels.tolist() == [1]
    unlabelled = Recording.empty("id00000002", np.arange(500) / 100)
    w = windows_from_recordings([unlabelled])
    assert w.labels.tolist() == [-1, -1] and w.weights.tolist() == [0.0, 0.0]


def test_windows_of_several_recordings_are_concatenated_in_order():
    recs = [frame_index_recording(n, f"id{i:08x}") for i, n in enumerate((900, 400, 1300))]
    w = windows_from_recordings(recs, modalities=("eyes",))
    assert list(w.X) == ["eyes"]
    expected = [window_starts(r.n_frames, 400, 400) for r in recs]
    np.testing.assert_array_equal(w.recording, np.repeat([0, 1, 2], [len(s) for s in expected]))
    np.testing.assert_array_equal(w.start, np.concatenate(expected))


def test_average_window_posteriors_covers_every_frame_with_the_mean_of_its_windows():
    rng = np.random.RandomState(0)
    for n_frames in (1, 399, 400, 401, 1234):
        starts = window_starts(n_frames, 400, 100)
        p = rng.dirichlet(np.ones(6), size=len(starts))
        frames = average_window_posteriors(starts, 400, p, n_frames)
        expected = np.zeros((n_frames, 6))
        count = np.zeros(n_frames)
        for s, row in zip(starts, p):
            expected[s : s + 400] += row
            count[s : s + 400] += 1
        np.testing.assert_allclose(frames, expected / count[:, None], rtol=1e-12)


def labelled_recordings(n_recordings=16, n_frames=1600, segment=800, seed=0):
    """Recordings whose emotion changes every ``segment`` frames; audio and face carry the class,
    Kinect and eyes are noise; face is missing in a third of the frames."""
    rng = np.random.RandomState(seed)
    recs = []
    for i in range(n_recordings):
        seg = rng.randint(0, 3, size=n_frames // segment + 1)
        labels = np.repeat(seg, segment)[:n_frames].astype(np.int8)
        rec = Recording.empty(f"id{i:08x}", 10 + np.arange(n_frames) / 100, labels=labels,
                              agreement=rng.uniform(0.5, 1.0, n_frames).astype(np.float32))
        rec.meta = {"session": f"s{i // 4}", "actor": f"a{i // 2}"}
        for m in MODALITIES:
            rec.streams[m][:] = rng.standard_normal((n_frames, N_FEATURES[m])) + 5
            rec.present[m][:] = True
        # Class c raises a block of 10 features by 1 standard deviation.
        signal = np.repeat(np.eye(3)[labels], 10, axis=1)
        rec.streams["audio"][:, :30] += signal
        rec.streams["face_nn"][:, :30] += signal
        gone = rng.rand(n_frames) < 0.33
        rec.streams["face_nn"][gone] = np.nan
        rec.present["face_nn"][gone] = False
        recs.append(rec)
    return recs


def frame_accuracy(frame_labels, recordings):
    correct = sum(int((frame_labels[r.rec_id] == r.labels).sum()) for r in recordings)
    return correct / sum(r.n_frames for r in recordings)


def test_train_and_predict_learn_above_chance_and_label_every_frame():
    recs = labelled_recordings()
    model = train_baseline(recs[:12], hidden_size=8, dense_size=8, learning_rate=0.01,
                           max_epochs=20, patience=5, validation_fraction=0.2, random_state=0)
    assert model.modalities_ == MODALITIES
    assert {m: s[0] for m, s in model.input_shapes_.items()} == {
        "audio": 400, "face_nn": 200, "eyes": 200, "kinect": 58}
    # Whole actors (two recordings each) are held out for early stopping.
    assert len(model.validation_groups_) == 2
    assert set(model.validation_groups_) <= {f"a{i}" for i in range(6)}
    test = recs[12:]
    frame_labels = predict_baseline(model, test)
    assert set(frame_labels) == {r.rec_id for r in test}
    for r in test:
        assert frame_labels[r.rec_id].dtype == np.int8
        assert frame_labels[r.rec_id].shape == (r.n_frames,)
    assert frame_accuracy(frame_labels, test) > 0.8  # chance is about 1/3


def test_single_modality_baseline_and_recordings_without_any_data():
    recs = labelled_recordings(n_recordings=8)
    model = train_baseline(recs, hidden_size=8, modalities=("audio",), dense_size=8,
                           learning_rate=0.01, max_epochs=10, validation_fraction=0)
    assert model.modalities_ == ("audio",)
    assert model.network_.input_sizes == (N_FEATURES["audio"],)
    nothing = Recording.empty("id000000ff", np.arange(523) / 100)
    short = Recording.empty("id000000fe", np.arange(37) / 100)
    posteriors = predict_baseline_proba(model, [nothing, short, recs[0]], hop=50)
    for rec in (nothing, short, recs[0]):
        p = posteriors[rec.rec_id]
        assert p.shape == (rec.n_frames, len(model.classes_))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    # With no data at all every window looks the same, so every frame gets the same label.
    labels = predict_baseline(model, [nothing])["id000000ff"]
    assert labels.shape == (523,) and len(set(labels.tolist())) == 1


def test_prediction_in_chunks_equals_prediction_at_once():
    recs = labelled_recordings(n_recordings=6)
    model = train_baseline(recs, hidden_size=4, modalities=("eyes", "kinect"), dense_size=4,
                           max_epochs=1, validation_fraction=0)
    at_once = predict_baseline_proba(model, recs, max_windows=10**6)
    chunked = predict_baseline_proba(model, recs, max_windows=7)
    for r in recs:
        np.testing.assert_array_equal(at_once[r.rec_id], chunked[r.rec_id])


def test_prediction_refuses_windows_the_model_was_not_trained_on():
    recs = labelled_recordings(n_recordings=4)
    model = train_baseline(recs, hidden_size=4, modalities=("kinect",), dense_size=4,
                           max_epochs=1, validation_fraction=0)
    with pytest.raises(ValueError, match="trained on 58"):
        predict_baseline(model, recs, length=200)


def test_training_needs_labels():
    recs = labelled_recordings(n_recordings=3)
    recs[1].labels = None
    with pytest.raises(ValueError, match=recs[1].rec_id):
        train_baseline(recs, hidden_size=4, max_epochs=1)
