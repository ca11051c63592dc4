"""The stacker's meta-learner pieces (emo_gbm.ensemble._meta) and the helpers that left the
class with them (_absence.draw_dropouts, one_per_row; _blocks.block_estimators;
_base_models.base_proba), each on its own small inputs."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from emo_gbm.ensemble._absence import draw_dropout, draw_dropouts, one_per_row
from emo_gbm.ensemble._base_models import base_proba
from emo_gbm.ensemble._blocks import block_estimators
from emo_gbm.ensemble._defaults import PROBA_FLOOR
from emo_gbm.ensemble._meta import (
    absence_fallbacks,
    absence_proba,
    blank_absent_rows,
    dropped_inputs,
    fallback,
    fit_absence_meta,
    fit_meta_learner,
    meta_features,
    told_experts,
)
from emo_gbm.ensemble.pooling import PooledLogisticRegression
from emo_gbm.model_selection import make_folds

#: Blocks "a" and "a_lin" read modality 0 (column 3), "b" modality 1 (column 7).
POSITIONS = {"a": 3, "a_lin": 3, "b": 7}


def proba_of(rng, n, n_classes=3):
    p = rng.random((n, n_classes)) + 0.05
    return p / p.sum(axis=1, keepdims=True)


def test_meta_features_are_floored_log_posteriors_then_fractions_without_the_absent_modalities():
    rng = np.random.default_rng(0)
    proba = {name: proba_of(rng, 4) for name in POSITIONS}
    proba["b"][0] = [1.0, 0.0, 0.0]
    fractions = rng.random((4, 2))
    full = meta_features(proba, fractions, POSITIONS)
    assert full.shape == (4, 3 * 3 + 2)
    np.testing.assert_array_equal(full[:, :3], np.log(proba["a"]))
    assert full[0, 7] == np.log(PROBA_FLOOR)
    np.testing.assert_array_equal(full[:, -2:], fractions)
    without_a = meta_features(proba, fractions, POSITIONS, absent=0b01)
    np.testing.assert_array_equal(without_a, np.c_[full[:, 6:9], fractions[:, 1]])
    without_b = meta_features(proba, fractions, POSITIONS, absent=0b10)
    np.testing.assert_array_equal(without_b, np.c_[full[:, :6], fractions[:, 0]])


def test_told_experts_sets_the_experts_of_a_pooled_meta_learner_only():
    pooled = PooledLogisticRegression()
    told = told_experts(pooled, POSITIONS, 6, absent=0b01)
    assert (told.n_experts, told.n_expert_classes) == (1, 6)
    assert told is not pooled and pooled.n_experts == 0  # a clone: the given one is left as it was
    assert told_experts(pooled, POSITIONS, 6).n_experts == 3
    plain = LogisticRegression()
    assert told_experts(plain, POSITIONS, 6, absent=0b01) is plain


def test_blank_absent_rows_and_dropped_inputs():
    rng = np.random.default_rng(1)
    oof = {name: proba_of(rng, 5) for name in POSITIONS}
    before = {name: p.copy() for name, p in oof.items()}
    blank = {"a": np.array([0.2, 0.3, 0.5]), "a_lin": None, "b": np.array([0.6, 0.2, 0.2])}
    fractions = np.array([[1.0, 0.0], [0.5, 1.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.2]])
    blank_absent_rows(oof, blank, fractions, POSITIONS)
    np.testing.assert_array_equal(oof["a"][[0, 3]], [blank["a"]] * 2)
    np.testing.assert_array_equal(oof["a"][[1, 2, 4]], before["a"][[1, 2, 4]])
    np.testing.assert_array_equal(oof["a_lin"], before["a_lin"])  # no blank answer: left as is
    np.testing.assert_array_equal(oof["b"][[1, 3]], [blank["b"]] * 2)
    blanked = oof["a"].copy()
    dropped = {"a": np.array([0, 0, 1, 0, 0], bool), "a_lin": np.array([0, 0, 1, 0, 0], bool),
               "b": np.array([0, 0, 0, 0, 1], bool)}
    proba, dropped_fractions = dropped_inputs(oof, blank, fractions, POSITIONS, dropped)
    np.testing.assert_array_equal(proba["a"][2], blank["a"])
    np.testing.assert_array_equal(proba["b"][4], blank["b"])
    assert proba["a_lin"] is oof["a_lin"]  # without dropout answer, the same array
    np.testing.assert_array_equal(oof["a"], blanked)  # the out-of-fold posteriors stay clean
    np.testing.assert_array_equal(dropped_fractions, [[1, 0], [0.5, 1], [1, 0], [1, 1], [0, 1]])
    assert fractions[2, 0] == 0.0


def meta_problem(n_groups=10, rows=12, seed=0):
    """Two informative blocks' posteriors, class indices, grouped folds."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n_groups * rows)
    groups = np.repeat(np.arange(n_groups), rows)
    positions = {"a": 0, "b": 1}
    oof = {}
    for name, strength in (("a", 2.0), ("b", 1.0)):
        logits = rng.normal(size=(y.size, 3))
        logits[np.arange(y.size), y] += strength
        oof[name] = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    fractions = np.zeros((y.size, 2))
    folds = make_folds(3, y, groups, 0)
    return oof, fractions, positions, y, groups, folds


def test_fit_meta_learner_chooses_the_setting_of_lowest_out_of_fold_log_loss():
    oof, fractions, positions, y, _, folds = meta_problem()
    meta = meta_features(oof, fractions, positions)
    settings = [{"C": 1e-6}, {"C": 1.0}]
    fitted, chosen = fit_meta_learner(LogisticRegression(), settings, positions, meta, meta, y, None, folds, 0)
    assert list(fitted) == ["final_params_", "final_scores_", "oof_proba_", "final_estimator_"]
    assert fitted["final_params_"] == {"C": 1.0} and chosen.C == 1.0
    losses = {row["C"]: row["log_loss"] for row in fitted["final_scores_"]}
    assert losses[1e-6] > losses[1.0]
    assert fitted["oof_proba_"].shape == (y.size, 3)
    np.testing.assert_allclose(fitted["oof_proba_"].sum(axis=1), 1.0)
    assert fitted["final_estimator_"].C == 1.0 and hasattr(fitted["final_estimator_"], "coef_")
    # a fold whose training rows have one class gets the prior, whatever the setting
    one_class = [(np.flatnonzero(y == 0), np.flatnonzero(y != 0))]
    fitted, _ = fit_meta_learner(LogisticRegression(), settings, positions, meta, meta, y, None, one_class, 0)
    np.testing.assert_array_equal(fitted["oof_proba_"][y != 0], np.tile([1.0, 0.0, 0.0], ((y != 0).sum(), 1)))


def test_fit_absence_meta_fits_every_set_and_the_out_of_fold_rows_of_the_lacking_sequences():
    oof, fractions, positions, y, groups, folds = meta_problem()
    lacking_a = np.isin(groups, [1, 4])
    fractions[lacking_a, 0] = 1.0
    masks = lacking_a.astype(np.int64)  # bit 0: "a" absent
    oof_proba = np.full((y.size, 3), -1.0)
    estimators = fit_absence_meta(LogisticRegression(), 0, (oof, fractions), (oof, fractions), masks, positions,
                                  oof_proba, y, None, folds)
    assert sorted(estimators) == [1, 2]
    assert estimators[1].n_features_in_ == 3 + 1  # "b"'s log-posteriors and its missing fraction
    assert (oof_proba[~lacking_a] == -1.0).all()
    np.testing.assert_allclose(oof_proba[lacking_a].sum(axis=1), 1.0)
    # out of fold: each lacking row is predicted by a model fitted on the other folds
    train, valid = next((t, v) for t, v in folds if lacking_a[v].any())
    rows = valid[lacking_a[valid]]
    model = LogisticRegression().fit(meta_features(oof, fractions, positions, 1)[train], y[train])
    np.testing.assert_allclose(oof_proba[rows], model.predict_proba(meta_features(oof, fractions, positions, 1)[rows]))


def test_fallback_takes_the_base_model_that_beats_the_meta_learner():
    y = np.array([0, 1, 2, 0])
    good = np.eye(3)[y] * 0.8 + 0.2 / 3
    oof = np.full((4, 3), 1 / 3)
    base = {"a": good.copy(), "b": np.full((4, 3), 1 / 3)}
    assert fallback(np.array([], dtype=int), ["a", "b"], oof, base, y, None) is None
    assert fallback(np.arange(4), ["b"], oof, base, y, None) is None  # no better: nothing changes
    np.testing.assert_array_equal(oof, 1 / 3)
    assert fallback(np.array([1, 2]), ["a", "b"], oof, base, y, None) == "a"
    np.testing.assert_array_equal(oof[[1, 2]], good[[1, 2]])
    np.testing.assert_array_equal(oof[[0, 3]], 1 / 3)


def test_absence_fallbacks_choose_among_the_present_modalities_for_sets_with_a_meta_learner():
    y = np.array([0, 1, 2, 0, 1, 2])
    masks = np.array([0, 0, 1, 1, 2, 2])
    good = np.eye(3)[y] * 0.8 + 0.2 / 3
    base = {"a": good.copy(), "b": good.copy()}
    oof = np.full((6, 3), 1 / 3)
    blocks = absence_fallbacks(masks, {1: None, 2: None}, {"a": 0, "b": 1}, oof, base, y, None)
    assert blocks == {1: "b", 2: "a"}  # rows without "a" fall back to "b" and the reverse
    np.testing.assert_array_equal(oof[:2], 1 / 3)  # mask 0 has no meta-learner of its own here
    assert absence_fallbacks(masks, {}, {"a": 0, "b": 1}, oof, base, y, None) == {}


def test_absence_proba_routes_the_rows_of_each_set_to_its_meta_learner_or_base_model():
    oof, fractions, positions, y, _, _ = meta_problem(n_groups=3, rows=6)
    model = LogisticRegression().fit(meta_features(oof, fractions, positions, 1), y)
    masks = np.repeat([0, 1, 2], 6)
    proba = np.zeros((y.size, 3))
    absence_proba(proba, oof, fractions, masks, {1: model, 2: None}, {2: "a"}, positions)
    assert (proba[:6] == 0).all()
    np.testing.assert_allclose(proba[6:12], model.predict_proba(meta_features(oof, fractions, positions, 1)[6:12]))
    np.testing.assert_array_equal(proba[12:], oof["a"][12:])


def test_draw_dropouts_per_row_and_per_sequence():
    unit_of = {"a": 0, "a_lin": 0, "b": 1}
    base, meta = draw_dropouts(np.random.RandomState(3), 40, unit_of, 0.5, np.repeat(np.arange(8), 5))
    assert set(np.unique(base)) <= {-1, 0, 1} and (base >= 0).any() and (base < 0).any()
    assert all(np.unique(part).size == 1 for part in np.split(meta, 8))  # whole sequences
    # the stacker's draws in their order: the rows' for the base models, then the sequences'
    rng = np.random.RandomState(3)
    np.testing.assert_array_equal(base, draw_dropout(rng, 40, 2, 0.5))
    np.testing.assert_array_equal(meta, np.repeat(draw_dropout(rng, 8, 2, 0.5), 5))
    base, meta = draw_dropouts(np.random.RandomState(3), 10, {"a": 0}, 0.9, None)
    assert (base == -1).all() and (meta == -1).all()  # a single unit is never blanked


def test_one_per_row():
    X = np.zeros((3, 2))
    np.testing.assert_array_equal(one_per_row(X, [1, 2, 3], "groups"), [1, 2, 3])
    with pytest.raises(ValueError, match=r"groups has shape \(2,\), expected \(3,\)"):
        one_per_row(X, [1, 2], "groups")


def test_block_estimators():
    plain = LogisticRegression()
    assert block_estimators(plain, ["a", "b"]) == {"a": plain, "b": plain}
    assert type(block_estimators(None, ["a"])["a"]).__name__ == "LGBMClassifier"
    assert block_estimators({"b": plain, "a": None}, ["a", "b"]) == {"a": None, "b": plain}
    with pytest.raises(ValueError, match="without an entry for block 'b'"):
        block_estimators({"a": plain}, ["a", "b"])


def test_base_proba_gives_every_class_in_block_order():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = np.arange(30) % 3
    a = LogisticRegression().fit(X[:, [0, 1]], y)
    b = LogisticRegression().fit(X[y > 0][:, [2]], y[y > 0] - 1)  # knows classes 1 and 2 only
    proba = base_proba({"a": a, "b": b}, {"a": np.array([0, 1]), "b": np.array([2])},
                       {"a": np.arange(3), "b": np.array([1, 2])}, X, 3)
    assert list(proba) == ["a", "b"]
    np.testing.assert_allclose(proba["a"], a.predict_proba(X[:, [0, 1]]))
    assert (proba["b"][:, 0] == 0).all()
    np.testing.assert_allclose(proba["b"][:, 1:], b.predict_proba(X[:, [2]]))
