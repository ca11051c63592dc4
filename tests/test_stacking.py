"""StackedModalityClassifier: grouped folds, out-of-fold posteriors, dropout, determinism."""

import joblib
import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold
from sklearn.neighbors import KNeighborsClassifier
from xgboost import XGBClassifier

from emo_gbm.ensemble.pooling import PooledLogisticRegression
from emo_gbm.ensemble._absence import missing_fractions
from emo_gbm.ensemble._meta import meta_features
from emo_gbm.ensemble import StackedModalityClassifier, default_base_estimator, default_linear_expert
from emo_gbm.model_selection import fit_threaded, runs_alone


def small_lgbm():
    return LGBMClassifier(
        n_estimators=30, num_leaves=7, min_child_samples=5, n_jobs=1, verbose=-1, deterministic=True, force_row_wise=True
    )


def two_modality_data(n_groups=12, rows_per_group=30, seed=0, missing_share=0.0):
    """Blocks "a" (5 columns + missing fraction) and "b" (4 + missing), both informative."""
    rng = np.random.default_rng(seed)
    n = n_groups * rows_per_group
    y = rng.integers(0, 3, n)
    groups = np.repeat(np.arange(n_groups), rows_per_group)
    a = 3.0 + 2.0 * np.eye(3)[y] @ rng.normal(size=(3, 5)) + rng.normal(size=(n, 5))
    b = 0.8 * np.eye(3)[y] @ rng.normal(size=(3, 4)) + rng.normal(size=(n, 4))
    a_missing = (rng.random(n) < missing_share).astype(float)
    a[a_missing == 1] = np.nan
    frame = pd.DataFrame(np.c_[a, a_missing, b, np.zeros(n)])
    frame.columns = [f"a{i}" for i in range(5)] + ["a_missing"] + [f"b{i}" for i in range(4)] + ["b_missing"]
    return frame, y, groups


COLUMNS = {"a": [f"a{i}" for i in range(5)], "b": [f"b{i}" for i in range(4)]}
MISSING = {"a": "a_missing", "b": "b_missing"}


def stacker(**params):
    defaults = dict(
        estimator=small_lgbm(), modality_columns=COLUMNS, missing_columns=MISSING, cv=4, random_state=0
    )
    defaults.update(params)
    return StackedModalityClassifier(**defaults)


def test_no_group_is_on_both_sides_of_a_fold():
    X, y, groups = two_modality_data()
    clf = stacker().fit(X, y, groups=groups)
    assert len(clf.folds_) == 4
    validated = np.concatenate([valid for _, valid in clf.folds_])
    assert np.sort(validated).tolist() == list(range(len(y)))
    for train, valid in clf.folds_:
        assert not set(groups[train]) & set(groups[valid])


def test_out_of_fold_posteriors_never_see_their_own_group():
    # Labels are constant within a group and random across groups, and the one feature
    # identifies the group: a 1-nearest-neighbour model that saw a row's group would
    # reproduce its label exactly; out of fold it can only guess.
    rng = np.random.default_rng(1)
    n_groups, size = 40, 10
    groups = np.repeat(np.arange(n_groups), size)
    y = np.repeat(rng.integers(0, 2, n_groups), size)
    X = (groups + rng.normal(scale=0.01, size=groups.size))[:, None]
    clf = StackedModalityClassifier(
        estimator=KNeighborsClassifier(n_neighbors=1), final_estimator=LogisticRegression(), cv=5, random_state=0
    ).fit(X, y, groups=groups)
    oof_accuracy = (clf.base_oof_proba_["all"].argmax(axis=1) == y).mean()
    assert oof_accuracy < 0.75
    assert (clf.estimators_["all"].predict(X) == y).all()  # the refit model did memorise


def test_custom_recording_splitter_is_used():
    X, y, groups = two_modality_data(n_groups=6)
    clf = stacker(cv=GroupKFold(n_splits=3)).fit(X, y, groups=groups)
    expected = list(GroupKFold(n_splits=3).split(X, y, groups))
    for (train, valid), (train_expected, valid_expected) in zip(clf.folds_, expected):
        np.testing.assert_array_equal(valid, valid_expected)


def test_out_of_fold_shapes_and_quality():
    X, y, groups = two_modality_data()
    clf = stacker().fit(X, y, groups=groups)
    assert clf.oof_proba_.shape == (len(y), 3)
    np.testing.assert_allclose(clf.oof_proba_.sum(axis=1), 1)
    assert set(clf.base_oof_proba_) == {"a", "b"}
    stacked = (clf.oof_proba_.argmax(axis=1) == y).mean()
    for name in ("a", "b"):
        assert stacked > (clf.base_oof_proba_[name].argmax(axis=1) == y).mean()
    assert clf.predict_proba(X).shape == (len(y), 3)
    assert clf.blocks_["a"].tolist() == [0, 1, 2, 3, 4, 5]  # missing fraction joins its block


class BlankCounter(ClassifierMixin, BaseEstimator):
    """Logistic regression on NaN-filled input that records the share of all-NaN rows it was fitted on."""

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X, dtype=float)
        self.blank_share_ = float(np.isnan(X[:, :-1]).all(axis=1).mean())
        self.missing_one_share_ = float((X[:, -1] == 1).mean())
        self.blank_rows_ = np.isnan(X[:, :-1]).all(axis=1)
        self.model_ = LogisticRegression().fit(np.nan_to_num(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(np.nan_to_num(np.asarray(X, dtype=float)))


def test_dropout_blanks_the_requested_share_of_base_training_rows():
    X, y, groups = two_modality_data(n_groups=20, rows_per_group=50)
    clf = stacker(estimator=BlankCounter(), modality_dropout=0.4).fit(X, y, groups=groups)
    for name in ("a", "b"):
        # One block of two is blanked in 40% of rows: 20% of each block's rows.
        assert clf.estimators_[name].blank_share_ == pytest.approx(0.2, abs=0.04)
        assert clf.estimators_[name].missing_one_share_ == pytest.approx(0.2, abs=0.04)
    clf = stacker(estimator=BlankCounter(), modality_dropout=0.0).fit(X, y, groups=groups)
    assert clf.estimators_["a"].blank_share_ == 0.0
    # A single modality is never blanked: there is no other one to lean on.
    single = dict(estimator=BlankCounter(), modality_columns={"a": COLUMNS["a"]}, missing_columns={"a": "a_missing"})
    clf = stacker(modality_dropout=0.4, **single).fit(X, y, groups=groups)
    assert clf.estimators_["a"].blank_share_ == 0.0
    np.testing.assert_array_equal(clf.oof_proba_, stacker(modality_dropout=0.0, **single).fit(X, y, groups=groups).oof_proba_)


def test_dropout_teaches_the_meta_learner_to_ignore_an_absent_modality():
    X_all, y_all, groups_all = two_modality_data(n_groups=40, rows_per_group=40)
    train = groups_all < 20
    X, y, groups = X_all[train], y_all[train], groups_all[train]
    X_test, y_test = X_all[~train], y_all[~train]
    X_test_without_a = X_test.copy()
    X_test_without_a[COLUMNS["a"]] = np.nan
    X_test_without_a["a_missing"] = 1.0
    # Without dropout the base model of "a" never saw a blank input and answers it with
    # whatever leaf NaN falls into; the meta-learner, never shown that, trusts it.
    estimator = small_lgbm()
    plain = stacker(estimator=estimator).fit(X, y, groups=groups)
    dropout = stacker(estimator=estimator, modality_dropout=0.3).fit(X, y, groups=groups)
    b_only = stacker(estimator=estimator, modality_columns={"b": COLUMNS["b"]}, missing_columns={"b": "b_missing"})
    b_only_accuracy = b_only.fit(X, y, groups=groups).score(X_test, y_test)
    assert dropout.score(X_test_without_a, y_test) > plain.score(X_test_without_a, y_test) + 0.15
    assert dropout.score(X_test_without_a, y_test) > b_only_accuracy - 0.05
    assert dropout.score(X_test, y_test) > dropout.score(X_test_without_a, y_test)
    # The dropout-trained base model answers a blank input with something close to the prior.
    assert dropout.blank_proba_["a"].max() < 0.6


def test_results_do_not_depend_on_n_jobs_and_survive_persistence(tmp_path):
    X, y, groups = two_modality_data()
    weights = np.random.default_rng(0).uniform(0.5, 1.0, len(y))
    one = stacker(modality_dropout=0.2, n_jobs=1).fit(X, y, sample_weight=weights, groups=groups)
    two = stacker(modality_dropout=0.2, n_jobs=2).fit(X, y, sample_weight=weights, groups=groups)
    np.testing.assert_array_equal(one.oof_proba_, two.oof_proba_)
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))
    joblib.dump(one, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), one.predict_proba(X))
    other_seed = stacker(modality_dropout=0.2, random_state=1).fit(X, y, sample_weight=weights, groups=groups)
    assert not np.array_equal(other_seed.oof_proba_, one.oof_proba_)


def test_lightgbm_grows_the_same_trees_on_more_threads_and_predicts_on_its_own():
    # fit_threaded relies on it: the refit that outweighs the others runs on every worker's thread
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 60)).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (np.nan_to_num(X[:, 2]) > 1)
    weights = rng.uniform(0.5, 1.0, len(y))
    estimator = default_base_estimator(0).set_params(n_estimators=40)
    one = fit_threaded(clone(estimator), X, y, weights, n_threads=1)
    four = fit_threaded(clone(estimator), X, y, weights, n_threads=4)
    trees = [m.booster_.model_to_string().split("parameters:")[0] for m in (one, four)]
    assert trees[0] == trees[1] and "Tree=0" in trees[0]
    assert four.get_params()["n_jobs"] == 1
    np.testing.assert_array_equal(one.predict_proba(X), four.predict_proba(X))


def test_a_dominant_refit_running_alone_on_all_threads_changes_nothing(monkeypatch):
    import emo_gbm.ensemble._base_models as base_models

    decided = []
    monkeypatch.setattr(base_models, "runs_alone", lambda costs, n: decided.append(runs_alone(costs, n)) or decided[-1])
    X, y, groups = two_modality_data()
    rng = np.random.default_rng(1)
    wide = pd.DataFrame(X["a0"].to_numpy()[:, None] + rng.normal(size=(len(y), 40)), columns=[f"w{i}" for i in range(40)])
    X = pd.concat([wide, X], axis=1)
    columns, missing = {"a": [f"w{i}" for i in range(40)] + COLUMNS["a"], "b": COLUMNS["b"]}, MISSING
    assert runs_alone([45 * 30, 4 * 30], 2)
    fitted = [stacker(modality_columns=columns, missing_columns=missing, n_jobs=n).fit(X, y, groups=groups)
              for n in (1, 2)]
    np.testing.assert_array_equal(fitted[0].oof_proba_, fitted[1].oof_proba_)
    np.testing.assert_array_equal(fitted[0].predict_proba(X), fitted[1].predict_proba(X))
    assert decided == [False, True]  # one worker: nothing to gain; two: block "a" runs alone
    assert fitted[1].estimators_["a"].get_params()["n_jobs"] == 1


def test_xgboost_base_with_a_class_absent_from_a_fold():
    X, y, groups = two_modality_data(n_groups=8)
    y = y.copy()
    y[groups == 0] = 3  # class 3 lives in one group only: some folds train without it
    xgb = XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1, tree_method="hist")
    clf = stacker(estimator=xgb).fit(X, y, groups=groups)
    assert clf.classes_.tolist() == [0, 1, 2, 3]
    fold_without_3 = [valid for _, valid in clf.folds_ if (groups[valid] == 0).any()][0]
    assert (clf.base_oof_proba_["a"][fold_without_3, 3] == 0).all()
    assert clf.predict_proba(X).shape == (len(y), 4)


def test_string_labels_and_numpy_input_by_position():
    X, y, groups = two_modality_data()
    labels = np.array(["anger", "happy", "sad"])[y]
    clf = stacker(modality_columns={"a": [0, 1, 2, 3, 4], "b": [6, 7, 8, 9]}, missing_columns={"a": 5, "b": 10})
    clf.fit(X.to_numpy(), labels, groups=groups)
    assert set(clf.predict(X.to_numpy())) <= set(labels)
    assert clf.classes_.tolist() == ["anger", "happy", "sad"]


def test_bad_parameters_are_reported():
    X, y, groups = two_modality_data()
    with pytest.raises(ValueError, match="not a column"):
        stacker(modality_columns={"a": ["zz"]}, missing_columns=None).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="no feature names"):
        stacker().fit(X.to_numpy(), y, groups=groups)
    with pytest.raises(ValueError, match="modality_dropout"):
        stacker(modality_dropout=1.0).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="does not define"):
        stacker(missing_columns={"c": "a_missing"}).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="2 distinct groups"):
        stacker().fit(X, y, groups=np.zeros(len(y)))


def test_meta_learner_setting_is_chosen_by_out_of_fold_log_loss():
    X, y, groups = two_modality_data()
    # C=1e-6 shrinks the meta-learner to the class prior: clearly the worse fit
    clf = stacker(final_grid={"C": [1e-6, 1.0]}).fit(X, y, groups=groups)
    assert clf.final_params_ == {"C": 1.0}
    assert clf.final_estimator_.C == 1.0
    losses = {row["C"]: row["log_loss"] for row in clf.final_scores_}
    assert losses[1.0] < losses[1e-6] <= np.log(3) + 0.05
    # the out-of-fold posteriors are those of the chosen setting
    forced = stacker(final_grid={"C": [1.0]}).fit(X, y, groups=groups)
    np.testing.assert_allclose(clf.oof_proba_, forced.oof_proba_)
    with pytest.raises(ValueError, match="empty"):
        stacker(final_grid={"C": []}).fit(X, y, groups=groups)


def test_boosting_rounds_are_chosen_per_block_on_out_of_fold_posteriors():
    X, y, groups = two_modality_data()
    clf = stacker(estimator=LGBMClassifier(n_estimators=120, learning_rate=0.3, num_leaves=31, min_child_samples=2,
                                           n_jobs=1, verbose=-1, deterministic=True, force_row_wise=True))
    clf.fit(X, y, groups=groups)
    for name in ("a", "b"):
        losses = clf.round_losses_[name]
        assert list(losses) == [10, 20, 30, 50, 75, 100, 120]
        assert clf.n_rounds_[name] == min(losses, key=losses.get)
        assert clf.estimators_[name].n_estimators == clf.n_rounds_[name]
    # a fast-learning, overfitting model on weak block "b" is best stopped early
    assert clf.n_rounds_["b"] < 120
    # a classifier without boosting rounds is used as given
    linear = stacker(estimator=default_linear_expert()).fit(X, y, groups=groups)
    assert linear.n_rounds_ == {"a": None, "b": None} and linear.round_losses_ == {"a": {}, "b": {}}


def sequence_data(n_groups=12, sequences_per_group=2, rows_per_sequence=20, seed=0):
    """Each sequence has one class; a row shows it only weakly, the whole sequence clearly."""
    rng = np.random.default_rng(seed)
    n_sequences = n_groups * sequences_per_group
    sequence_class = rng.integers(0, 3, n_sequences)
    sequences = np.repeat(np.arange(n_sequences), rows_per_sequence)
    y = sequence_class[sequences]
    groups = sequences // sequences_per_group
    a = 0.6 * np.eye(3)[y] @ rng.normal(size=(3, 5)) + rng.normal(size=(y.size, 5))
    b = 0.4 * np.eye(3)[y] @ rng.normal(size=(3, 4)) + rng.normal(size=(y.size, 4))
    frame = pd.DataFrame(np.c_[a, np.zeros(y.size), b, np.zeros(y.size)])
    frame.columns = [f"a{i}" for i in range(5)] + ["a_missing"] + [f"b{i}" for i in range(4)] + ["b_missing"]
    return frame, y, groups, sequences


def test_meta_learner_reads_log_posteriors_and_missing_fractions_and_sequences_are_checked():
    X, y, groups, sequences = sequence_data(n_groups=6)
    clf = stacker(final_estimator=LogisticRegression(max_iter=1000)).fit(X, y, groups=groups, sequences=sequences)
    assert clf.final_estimator_.coef_.shape[1] == 3 * 2 + 2  # log-posteriors of two blocks, two missing fractions
    with pytest.raises(ValueError, match="sequences has shape"):
        clf.predict(X, sequences=sequences[:-1])
    with pytest.raises(ValueError, match="groups has shape"):
        stacker().fit(X, y, groups=groups[:-1])


def test_blocks_sharing_a_missing_column_are_one_modality():
    X, y, groups = two_modality_data(n_groups=20, rows_per_group=50)
    columns = dict(COLUMNS, a_linear=COLUMNS["a"][:3])
    missing = dict(MISSING, a_linear="a_missing")
    estimators = {name: BlankCounter() for name in columns}
    clf = stacker(estimator=estimators, modality_columns=columns, missing_columns=missing, modality_dropout=0.4)
    clf.fit(X, y, groups=groups)
    # two modalities, so each is blanked in 20% of the rows, and "a"'s two models in the same rows
    assert clf.estimators_["a"].blank_share_ == pytest.approx(0.2, abs=0.04)
    assert clf.estimators_["b"].blank_share_ == pytest.approx(0.2, abs=0.04)
    np.testing.assert_array_equal(clf.estimators_["a"].blank_rows_, clf.estimators_["a_linear"].blank_rows_)
    assert not (clf.estimators_["a"].blank_rows_ & clf.estimators_["b"].blank_rows_).any()
    # the meta-learner gets each block's log-posteriors and each missing fraction once
    assert clf.final_estimator_.coef_.shape[1] == 3 * 3 + 2
    with pytest.raises(ValueError, match="without an entry for block 'a_linear'"):
        stacker(estimator={"a": small_lgbm(), "b": small_lgbm()}, modality_columns=columns).fit(X, y, groups=groups)


def test_a_linear_expert_pipeline_gets_the_sample_weights():
    X, y, groups = two_modality_data(n_groups=12, rows_per_group=30)
    expert = default_linear_expert()
    plain = stacker(estimator=expert).fit(X, y, groups=groups)
    weights = np.where(y == 2, 1e-4, 1.0)  # class 2 all but ignored
    weighted = stacker(estimator=expert).fit(X, y, sample_weight=weights, groups=groups)
    assert np.mean(plain.estimators_["a"].predict(X[COLUMNS["a"] + ["a_missing"]].to_numpy()) == 2) > 0.2
    assert np.mean(weighted.estimators_["a"].predict(X[COLUMNS["a"] + ["a_missing"]].to_numpy()) == 2) < 0.02
    assert plain.n_rounds_["a"] is None  # nothing to tune in a linear model


def test_meta_learner_per_absent_modality_serves_the_recordings_that_lack_it():
    X_all, y_all, groups_all = two_modality_data(n_groups=40, rows_per_group=40)
    sequences_all = groups_all  # one recording per actor here
    # Modality "a" is absent from two whole training recordings.
    X_all.loc[np.isin(groups_all, [3, 7]), COLUMNS["a"]] = np.nan
    X_all.loc[np.isin(groups_all, [3, 7]), "a_missing"] = 1.0
    train = groups_all < 20
    X, y, groups, sequences = X_all[train], y_all[train], groups_all[train], sequences_all[train]
    X_test, y_test, sequences_test = X_all[~train], y_all[~train], sequences_all[~train]
    single = stacker(modality_dropout=0.3).fit(X, y, groups=groups, sequences=sequences)
    per_absence = stacker(modality_dropout=0.3, meta_per_absence=True).fit(X, y, groups=groups, sequences=sequences)
    # one meta-learner per set of absent modalities: {a}, {b} (bit 0 is a, bit 1 is b)
    assert sorted(per_absence.absence_estimators_) == [1, 2]
    assert per_absence.absence_units_ == [("a",), ("b",)]
    assert per_absence.absence_estimators_[1].coef_.shape[1] == 3 + 1  # b's log-posteriors, b's missing fraction
    # Recordings with every modality: the same model as without the option.
    np.testing.assert_array_equal(per_absence.predict_proba(X_test, sequences_test),
                                  single.predict_proba(X_test, sequences_test))
    lacking = np.isin(groups, [3, 7])
    np.testing.assert_array_equal(per_absence.oof_proba_[~lacking], single.oof_proba_[~lacking])
    assert not np.allclose(per_absence.oof_proba_[lacking], single.oof_proba_[lacking])
    # Recordings without "a": its own meta-learner, which leans on "b" alone and does better.
    X_without_a = X_test.copy()
    X_without_a[COLUMNS["a"]] = np.nan
    X_without_a["a_missing"] = 1.0
    proba = per_absence.predict_proba(X_without_a, sequences_test)
    X_numbers = X_without_a.to_numpy()
    fractions = missing_fractions(X_numbers, per_absence.missing_positions_)
    meta = meta_features(per_absence._base_proba(X_numbers), fractions, per_absence.missing_positions_, absent=1)
    np.testing.assert_allclose(proba, per_absence.absence_estimators_[1].predict_proba(meta))
    single_loss = log_loss(y_test, single.predict_proba(X_without_a, sequences_test))
    per_absence_loss = log_loss(y_test, proba)
    assert per_absence_loss < single_loss - 0.005, (single_loss, per_absence_loss)
    # A modality missing from part of a recording only: still the main meta-learner.
    X_part = X_test.copy()
    X_part.iloc[::2, X_part.columns.get_indexer(COLUMNS["a"])] = np.nan
    X_part.iloc[::2, X_part.columns.get_loc("a_missing")] = 1.0
    np.testing.assert_array_equal(per_absence.predict_proba(X_part, sequences_test),
                                  single.predict_proba(X_part, sequences_test))


def test_base_settings_are_chosen_per_block_by_out_of_fold_log_loss():
    X, y, groups = two_modality_data(n_groups=12, rows_per_group=30)
    estimators = {"a": default_linear_expert(), "b": small_lgbm()}
    grid = {"a": {"logisticregression__C": [1e-6, 1.0]}}
    clf = stacker(estimator=estimators, base_grid=grid).fit(X, y, groups=groups)
    # C = 1e-6 leaves the posteriors at the prior: far worse than C = 1 on informative "a"
    assert clf.base_params_ == {"a": {"logisticregression__C": 1.0}}
    scores = {row["logisticregression__C"]: row["log_loss"] for row in clf.base_scores_["a"]}
    assert scores[1e-6] > scores[1.0] + 0.2
    assert clf.estimators_["a"].get_params()["logisticregression__C"] == 1.0
    assert "b" not in clf.base_scores_ and clf.n_rounds_["b"] is not None
    # the chosen candidate's out-of-fold posteriors are the meta-learner's inputs
    forced = stacker(estimator=estimators, base_grid={"a": {"logisticregression__C": [1.0]}}).fit(X, y, groups=groups)
    np.testing.assert_allclose(forced.base_oof_proba_["a"], clf.base_oof_proba_["a"])
    with pytest.raises(ValueError, match="base_grid names block 'c'"):
        stacker(base_grid={"c": {"C": [1.0]}}).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match=r"base_grid\['a'\]\['C'\] is empty"):
        stacker(base_grid={"a": {"C": []}}).fit(X, y, groups=groups)


def test_base_fallback_predicts_with_the_best_base_model_only_when_it_beats_the_meta_learner():
    X, y, groups = two_modality_data(n_groups=12, rows_per_group=30)
    # Both modalities informative: the meta-learner combining them wins, nothing changes.
    combined = stacker(base_fallback=True).fit(X, y, groups=groups)
    assert combined.final_block_ is None
    np.testing.assert_array_equal(combined.predict_proba(X), stacker().fit(X, y, groups=groups).predict_proba(X))
    # A plain logistic regression regularised to the prior loses to the base model of "a".
    fallback = stacker(
        base_fallback=True, final_estimator=LogisticRegression(C=1e-5), meta_per_absence=True
    )
    fallback.fit(X, y, groups=groups, sequences=groups)
    assert fallback.final_block_ == "a"
    np.testing.assert_array_equal(fallback.oof_proba_, fallback.base_oof_proba_["a"])
    X_a = X[COLUMNS["a"] + ["a_missing"]].to_numpy()
    np.testing.assert_allclose(fallback.predict_proba(X, groups), fallback.estimators_["a"].predict_proba(X_a))
    # A recording without "a" is still predicted by the meta-learner of that absence.
    X_without_a = X.copy()
    X_without_a[COLUMNS["a"]] = np.nan
    X_without_a["a_missing"] = 1.0
    X_numbers = X_without_a.to_numpy()
    fractions = missing_fractions(X_numbers, fallback.missing_positions_)
    meta = meta_features(fallback._base_proba(X_numbers), fractions, fallback.missing_positions_, absent=1)
    np.testing.assert_allclose(
        fallback.predict_proba(X_without_a, groups), fallback.absence_estimators_[1].predict_proba(meta)
    )
    assert stacker(final_estimator=LogisticRegression(C=1e-5)).fit(X, y, groups=groups).final_block_ is None  # off by default
    # Training recordings without "b": their meta-learner also loses to "a", so "a" predicts them.
    lacking_b = np.isin(groups, [2, 5, 8])
    X_some = X.copy()
    X_some.loc[lacking_b, COLUMNS["b"]] = np.nan
    X_some.loc[lacking_b, "b_missing"] = 1.0
    fallback.fit(X_some, y, groups=groups, sequences=groups)
    assert fallback.absence_blocks_ == {2: "a"} and fallback.final_block_ == "a"
    np.testing.assert_array_equal(fallback.oof_proba_[lacking_b], fallback.base_oof_proba_["a"][lacking_b])
    X_b = X_some[COLUMNS["a"] + ["a_missing"]].to_numpy()
    np.testing.assert_allclose(fallback.predict_proba(X_some, groups), fallback.estimators_["a"].predict_proba(X_b))


def test_a_pooled_meta_learner_is_told_which_inputs_are_the_present_blocks_log_posteriors():
    X, y, groups = two_modality_data(n_groups=20, rows_per_group=30)
    X.loc[groups == 3, COLUMNS["a"]] = np.nan
    X.loc[groups == 3, "a_missing"] = 1.0
    fitted = stacker(
        final_estimator=PooledLogisticRegression(), final_grid={"C": [1e-3]}, modality_dropout=0.3,
        meta_per_absence=True,
    ).fit(X, y, groups=groups, sequences=groups)
    assert (fitted.final_estimator_.n_experts, fitted.final_estimator_.n_expert_classes) == (2, 3)
    # Without "a" (bit 0) only "b" is an expert; without "b" only "a".
    assert fitted.absence_estimators_[1].n_experts == 1
    assert fitted.absence_estimators_[2].n_experts == 1
    # Both modalities inform, so both get weight in the product.
    assert (fitted.final_estimator_.expert_weights_ > 0.2).all()
    # The default meta-learner is the pooled one.
    assert isinstance(stacker().fit(X, y, groups=groups).final_estimator_, PooledLogisticRegression)


def test_a_blank_input_has_the_same_out_of_fold_posterior_in_every_fold():
    X, y, groups = two_modality_data(n_groups=16, rows_per_group=30, missing_share=0.2)
    fitted = stacker(modality_dropout=0.2).fit(X, y, groups=groups)
    absent = X["a_missing"].to_numpy() == 1.0
    # The rows of every fold without "a" get the refitted model's answer for a blank input.
    assert sum(absent[valid].any() for _, valid in fitted.folds_) > 1
    np.testing.assert_array_equal(fitted.base_oof_proba_["a"][absent], np.tile(fitted.blank_proba_["a"], (absent.sum(), 1)))
    assert not np.allclose(fitted.base_oof_proba_["a"][~absent], fitted.blank_proba_["a"])
