"""The default base classifier, linear expert and meta-learner of the stack, and their constants."""

from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emo_gbm.ensemble.pooling import PooledLogisticRegression
from emo_gbm.model_selection import param_combinations

#: Base posteriors are clipped to this floor before the log, so one confident zero cannot
#: dominate the meta-learner's linear score.
PROBA_FLOOR = 1e-4


def default_base_estimator(random_state=0):
    """The default per-block classifier: a small, deterministic single-threaded LightGBM.

    300 rounds is a ceiling: the stacker and the single-model pipelines
    pick the number of rounds of each model by grouped cross-validation. 63 histogram bins
    and 30% of the columns per tree keep the ~900 face statistics fast.

    Parameters
    ----------
    random_state : int, default=0

    Returns
    -------
    LGBMClassifier

    Examples
    --------
    >>> default_base_estimator().get_params()["n_jobs"]
    1
    """
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=15,
        min_child_samples=20,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.3,
        max_bin=63,
        reg_lambda=1.0,
        n_jobs=1,
        random_state=random_state,
        deterministic=True,
        force_col_wise=True,
        verbose=-1,
    )


def default_linear_expert(C=0.1):
    """A linear base classifier: mean-imputed, standardised multinomial logistic regression.

    Stacked beside a gradient-boosted model of the same modality (on that modality's window
    means), it adds a smooth, differently biased view whose errors the meta-learner can
    average out. Missing values are imputed with the training mean (a column never observed
    gets 0), so it accepts the NaN of absent modalities. Newton-CG solves it in a few Newton
    steps without forming the multinomial Hessian (whose size grows with the square of the
    columns times the classes): the same models as Newton-Cholesky or L-BFGS to within their
    tolerance, at a fraction of the cost (docs/model_selection.md).

    Returns
    -------
    Pipeline

    Examples
    --------
    >>> [name for name, _ in default_linear_expert().steps]
    ['simpleimputer', 'standardscaler', 'logisticregression']
    """
    return make_pipeline(
        SimpleImputer(strategy="mean", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=C, solver="newton-cg", max_iter=1000),
    )


def default_final_estimator():
    """The default meta-learner: a logistic regression around the product of the blocks' posteriors.

    A :class:`~emo_gbm.ensemble.pooling.PooledLogisticRegression`: each block's log-posteriors get
    one unpenalised weight, and the full linear model on all meta-features is penalised on
    top, so a strong penalty leaves a calibrated weighted product of the base models rather
    than the class prior. The stacker tells it which inputs are the blocks'
    log-posteriors, and chooses its ``C`` over :data:`META_C_GRID` by grouped
    cross-validation.

    Returns
    -------
    PooledLogisticRegression

    Examples
    --------
    >>> default_final_estimator().C
    0.001
    """
    return PooledLogisticRegression(C=0.001)


#: Inverse regularisation strengths of the default meta-learner (of its linear part beside
#: the product of the blocks' posteriors), chosen by grouped cross-validation. A decade apart:
#: with 3e-5 and 3e-4 as well the out-of-fold WA was the same on every dataset of the suite
#: but the fits two fifths more (docs/model_selection.md).
META_C_GRID = (0.00001, 0.0001, 0.001)


def final_grid(grid, final_estimator):
    """The meta-learner settings to choose from, as a list of parameter dicts: ``grid``'s
    combinations, or ``C`` over :data:`META_C_GRID` for the default meta-learner.

    Examples
    --------
    >>> len(final_grid(None, None)), final_grid({"C": [1.0]}, None)
    (3, [{'C': 1.0}])
    """
    if grid is None:
        grid = {"C": list(META_C_GRID)} if final_estimator is None else {}
    return param_combinations(grid, "final_grid")
