"""scikit-learn's common estimator checks on every estimator of the package.

Each expected failure is listed with its reason; ``xfail_strict`` makes a listed check that
starts passing fail too, so the lists cannot go stale.
"""

from lightgbm import LGBMClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks
from xgboost import XGBClassifier

from emo_gbm.ensemble.pooling import PooledLogisticRegression
from emo_gbm.smoothing import FrameSmoother
from emo_gbm.ensemble.stacking import StackedModalityClassifier
from emo_gbm.features import WindowFeaturizer

_RECORDINGS = "fit/transform take a list of Recording objects; the check passes a numeric array"
_SCHEMA = "fit learns the modalities and columns from a list of Recording objects; the check passes an array"
_NO_FEATURE_MATRIX = "the input is recordings, not a feature matrix, so there is no n_features_in_"
_SMOOTHER_FIT = "fit takes (windows, window_proba, frames) tables; the check calls fit(X, y)"
_SMOOTHER_PREDICT = "predict takes (windows, window_proba, n_frames_by_rec); the check calls predict(X)"

EXPECTED_FAILURES = {
    "StackedModalityClassifier": {
        "check_sample_weight_equivalence_on_dense_data": (
            "repeating a row changes the folds that produce the out-of-fold meta-features, and "
            "the boosting libraries' minimum leaf sizes count rows, not weights"
        ),
    },
    "WindowFeaturizer": {
        **{
            check: _RECORDINGS
            for check in (
                "check_fit_score_takes_y",
                "check_estimators_dtypes",
                "check_dtype_object",
                "check_pipeline_consistency",
                "check_estimators_pickle",
                "check_f_contiguous_array_estimator",
                "check_transformer_data_not_an_array",
                "check_transformer_general",
                "check_transformer_preserve_dtypes",
                "check_methods_sample_order_invariance",
                "check_methods_subset_invariance",
                "check_dict_unchanged",
                "check_fit_idempotent",
                "check_fit2d_predict1d",
                "check_estimators_overwrite_params",
                "check_dont_overwrite_parameters",
                "check_estimators_fit_returns_self",
                "check_readonly_memmap_input",
                "check_positive_only_tag_during_fit",
                "check_estimator_sparse_array",
                "check_estimator_sparse_matrix",
                "check_fit2d_1sample",
                "check_fit2d_1feature",
                "check_fit_check_is_fitted",
            )
        },
        **{
            check: _SCHEMA
            for check in (
                "check_complex_data",
                "check_estimators_empty_data_messages",
                "check_estimators_nan_inf",
                "check_estimator_sparse_tag",
                "check_fit1d",
            )
        },
        "check_n_features_in_after_fitting": _NO_FEATURE_MATRIX,
        "check_n_features_in": _NO_FEATURE_MATRIX,
    },
    "FrameSmoother": {
        **{
            check: _SMOOTHER_FIT
            for check in (
                "check_fit_score_takes_y",
                "check_estimators_overwrite_params",
                "check_dont_overwrite_parameters",
                "check_estimators_fit_returns_self",
                "check_readonly_memmap_input",
                "check_n_features_in_after_fitting",
                "check_positive_only_tag_during_fit",
                "check_estimators_dtypes",
                "check_complex_data",
                "check_dtype_object",
                "check_estimators_empty_data_messages",
                "check_pipeline_consistency",
                "check_estimators_nan_inf",
                "check_estimator_sparse_tag",
                "check_estimator_sparse_array",
                "check_estimator_sparse_matrix",
                "check_estimators_pickle",
                "check_f_contiguous_array_estimator",
                "check_methods_sample_order_invariance",
                "check_methods_subset_invariance",
                "check_fit2d_1sample",
                "check_fit2d_1feature",
                "check_dict_unchanged",
                "check_fit_idempotent",
                "check_fit_check_is_fitted",
                "check_n_features_in",
                "check_fit1d",
                "check_fit2d_predict1d",
            )
        },
        "check_estimators_unfitted": _SMOOTHER_PREDICT,
    },
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


def _small_lgbm():
    return LGBMClassifier(
        n_estimators=10, min_child_samples=2, n_jobs=1, verbose=-1, deterministic=True, force_row_wise=True
    )


ESTIMATORS = [
    StackedModalityClassifier(estimator=_small_lgbm(), cv=3, random_state=0),
    StackedModalityClassifier(
        estimator=XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1, tree_method="hist"),
        final_estimator=_small_lgbm(),
        cv=3,
        modality_dropout=0.2,
        random_state=0,
    ),
    PooledLogisticRegression(),
    WindowFeaturizer(),
    FrameSmoother(),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# --- BiLSTMClassifier (emo_gbm.baseline) -------------------------------------------------

from emo_gbm.baseline import BiLSTMClassifier  # noqa: E402

BILSTM_EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "windows are shuffled into mini-batches of batch_size and each batch takes an RMSprop "
        "step, so a repeated window (an extra row) is not the same training as weight 2"
    ),
}


def _small_bilstm():
    # Small and quick; enough epochs to separate the checks' blobs.
    return BiLSTMClassifier(hidden_size=4, dense_size=8, learning_rate=0.05, max_epochs=40,
                            validation_fraction=0.0, random_state=0)


@parametrize_with_checks(
    [_small_bilstm()],
    expected_failed_checks=lambda estimator: BILSTM_EXPECTED_FAILURES,
    xfail_strict=True,
)
def test_bilstm_classifier_common_checks(estimator, check):
    check(estimator)
