"""PooledLogisticRegression: a logistic regression that shrinks towards a product of experts."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from emo_gbm.ensemble.pooling import PooledLogisticRegression


def _expert(y, n_classes, accuracy, rng):
    """Log-posteriors of an expert that says ``accuracy`` for its guess and is right that often."""
    wrong = (y + rng.integers(1, n_classes, y.size)) % n_classes
    guess = np.where(rng.random(y.size) < accuracy, y, wrong)
    other = (1 - accuracy) / (n_classes - 1)
    return np.log(np.where(np.eye(n_classes)[guess] > 0, accuracy, other))


def test_without_experts_it_is_scikit_learns_multinomial_logistic_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = (X[:, :3] @ rng.normal(size=(3, 4)) + rng.normal(size=(600, 4))).argmax(axis=1)
    weight = rng.uniform(0.5, 1.5, 600)
    for C in (0.01, 1.0):
        ours = PooledLogisticRegression(C=C).fit(X, y, sample_weight=weight)
        theirs = LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(X, y, sample_weight=weight)
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-4)


def test_a_strong_penalty_leaves_a_calibrated_weighted_product_of_the_experts():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 4000)
    good, noise = _expert(y, 4, 0.7, rng), _expert(y, 4, 0.25, rng)  # the second knows nothing
    X = np.hstack([good, noise, rng.normal(size=(4000, 3))])
    model = PooledLogisticRegression(n_experts=2, C=1e-6).fit(X, y)
    assert model.expert_weights_[0] == pytest.approx(1.0, abs=0.1)
    assert abs(model.expert_weights_[1]) < 0.1
    assert np.abs(model.coef_).max() < 1e-3
    # ...so its posteriors are the good expert's, calibrated as they were.
    np.testing.assert_allclose(model.predict_proba(X), np.exp(good), atol=0.05)
    # A plain logistic regression as strongly penalised falls back to the class prior.
    plain = LogisticRegression(C=1e-6).fit(X, y)
    assert log_loss(y, model.predict_proba(X)) < log_loss(y, plain.predict_proba(X)) - 0.3


def test_an_over_confident_expert_is_tempered():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 4000)
    honest = _expert(y, 3, 0.6, rng)
    guess = honest.argmax(axis=1)
    boastful = np.log(np.where(np.eye(3)[guess] > 0, 0.98, 0.01))  # the same guesses, said at 0.98
    model = PooledLogisticRegression(n_experts=1, C=1e-6).fit(boastful, y)
    assert 0 < model.expert_weights_[0] < 0.3
    assert log_loss(y, model.predict_proba(boastful)) < log_loss(y, np.exp(boastful)) - 0.5


def test_an_expert_constant_over_the_rows_gets_weight_zero():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 500)
    constant = np.tile(np.log([0.5, 0.3, 0.2]), (500, 1))
    model = PooledLogisticRegression(n_experts=2, C=1e-3).fit(np.hstack([_expert(y, 3, 0.6, rng), constant]), y)
    assert model.expert_weights_[1] == 0.0
    assert model.expert_weights_[0] > 0.5


def test_expert_columns_follow_the_labels_when_a_class_is_missing():
    rng = np.random.default_rng(4)
    y = rng.choice([0, 2, 3], 3000)  # class 1 of the experts' four never occurs
    X = _expert(y, 4, 0.7, rng)
    model = PooledLogisticRegression(n_experts=1, n_expert_classes=4, C=1e-6).fit(X, y)
    assert model.classes_.tolist() == [0, 2, 3]
    assert model.predict_proba(X).shape == (3000, 3)
    guess = X.argmax(axis=1)
    said_a_seen_class = guess != 1  # the expert's column 1 is the class never seen
    assert (model.predict(X)[said_a_seen_class] == guess[said_a_seen_class]).all()
    assert model.expert_weights_[0] > 0.5


@pytest.mark.parametrize(
    "params, X_columns, labels, message",
    [
        (dict(n_experts=2), 5, [0, 1, 2], "2 experts of 3 columns need 6 columns, X has 5"),
        (dict(n_experts=1, n_expert_classes=3), 3, [0, 1, 5], r"labels must be integers 0..2, got \[0, 1, 5\]"),
        (dict(C=0.0), 3, [0, 1, 2], "C must be positive"),
        (dict(n_experts=-1), 3, [0, 1, 2], "n_experts must be a non-negative integer"),
    ],
)
def test_bad_settings_are_reported(params, X_columns, labels, message):
    X = np.random.default_rng(5).normal(size=(30, X_columns))
    y = np.resize(labels, 30)
    with pytest.raises(ValueError, match=message):
        PooledLogisticRegression(**params).fit(X, y)


def test_fit_is_deterministic():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 800)
    X = np.hstack([_expert(y, 3, 0.6, rng), rng.normal(size=(800, 4))])
    first = PooledLogisticRegression(n_experts=1, C=0.01).fit(X, y).predict_proba(X)
    second = PooledLogisticRegression(n_experts=1, C=0.01).fit(X, y).predict_proba(X)
    assert np.array_equal(first, second)


def test_expert_layout_names_each_class_column_of_a_block():
    model = PooledLogisticRegression(n_experts=2)
    model.classes_ = np.array(["a", "b", "c"])
    model._set_expert_layout(6)
    assert model.expert_width_ == 3 and model.expert_columns_.tolist() == [0, 1, 2]
    model = PooledLogisticRegression(n_experts=2, n_expert_classes=6)
    model.classes_ = np.array([0, 2, 5])
    model._set_expert_layout(12)
    assert model.expert_width_ == 6 and model.expert_columns_.tolist() == [0, 2, 5]
    with pytest.raises(ValueError, match="2 experts of 6 columns need 12 columns, X has 11"):
        model._set_expert_layout(11)
