"""The challenge metric: WA pools scored frames, UA averages per-class recall."""

import numpy as np
import pytest

from emo_gbm.metrics import (
    confusion_matrix,
    score_recordings,
    scores_from_confusion,
    unweighted_accuracy,
    weighted_accuracy,
)


def test_only_frames_with_agreement_strictly_above_threshold_count():
    y_true = [0, 0, 1, 1]
    y_pred = [0, 1, 1, 0]
    agreement = [0.61, 0.6, 0.9, 0.59]  # 0.6 itself is not > 0.6
    assert weighted_accuracy(y_true, y_pred, agreement) == 1.0
    assert confusion_matrix(y_true, y_pred, agreement).sum() == 2


def test_wa_and_ua_differ_under_class_imbalance():
    y_true = np.array([5] * 90 + [0] * 10)
    y_pred = np.full(100, 5)
    agreement = np.ones(100)
    assert weighted_accuracy(y_true, y_pred, agreement) == pytest.approx(0.9)
    assert unweighted_accuracy(y_true, y_pred, agreement) == pytest.approx(0.5)  # only classes 0 and 5 present


def test_ua_ignores_classes_absent_from_scored_frames():
    # class 2 is present but only on unscored frames: it must not enter UA
    y_true = [0, 1, 2]
    y_pred = [0, 0, 2]
    agreement = [0.9, 0.9, 0.1]
    s = scores_from_confusion(confusion_matrix(y_true, y_pred, agreement))
    assert s["UA"] == pytest.approx(0.5)
    assert s["recall"]["Disgust"] is None
    assert s["recall"]["Anger"] == 1.0 and s["recall"]["Sad"] == 0.0


def test_pooled_over_recordings_not_averaged_per_recording():
    truths = {"a": (np.zeros(100, int), np.ones(100)), "b": (np.zeros(10, int), np.ones(10))}
    preds = {"a": np.zeros(100, int), "b": np.ones(10, int)}
    s = score_recordings(preds, truths)
    assert s["WA"] == pytest.approx(100 / 110)
    assert s["frames"] == 110 and s["frames_total"] == 110 and s["recordings"] == 2
    assert np.array(s["confusion"]).sum() == 110


def test_errors_on_length_mismatch_missing_recording_and_nothing_scored():
    with pytest.raises(ValueError, match="one value per frame"):
        weighted_accuracy([0, 1], [0], [1, 1])
    with pytest.raises(ValueError, match="no prediction for recording b"):
        score_recordings({"a": [0]}, {"a": ([0], [1.0]), "b": ([0], [1.0])})
    with pytest.raises(ValueError, match="nothing to score"):
        weighted_accuracy([0, 1], [0, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="class indices"):
        weighted_accuracy([0, 6], [0, 1], [1, 1])


def test_agreement_of_exactly_threshold_read_as_float32_is_not_scored():
    # 0.6 in float32 is 0.60000002, above 0.6 in float64: the challenge scores frames "over 0.6".
    scores = score_recordings({"a": [0, 1]}, {"a": ([1, 1], np.array([0.6, 0.9], dtype=np.float32))})
    assert scores["frames"] == 1
    assert scores["WA"] == 1.0


def test_a_perfect_submission_counts_exactly_the_frames_above_threshold_at_any_precision():
    rng = np.random.default_rng(0)
    agreement = rng.choice([0.5, 0.6, 0.625, 0.6000001, 1.0], size=1000)
    labels = rng.integers(0, 6, size=1000)
    expected = int(np.count_nonzero(agreement > 0.6))
    for dtype in (np.float64, np.float32):
        scores = score_recordings({"a": labels}, {"a": (labels, agreement.astype(dtype))})
        assert scores["frames"] == expected, dtype
        assert scores["WA"] == 1.0
