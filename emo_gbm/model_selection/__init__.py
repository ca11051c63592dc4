"""Model selection: grouped folds, boosting rounds chosen out of fold, and the fitting helpers they share."""

from emo_gbm.model_selection._fitting import (
    blank_out,
    fit_and_predict,
    fit_block,
    fit_threaded,
    fit_weighted,
    param_combinations,
    proba_all_classes,
    staged_proba,
    take_rows,
    with_seed,
)
from emo_gbm.model_selection._folds import grouped_folds, make_folds
from emo_gbm.model_selection._rounds import (
    ROUND_GRID,
    boosting_rounds,
    choose_rounds,
    cross_val_rounds,
    fit_cost,
    in_given_order,
    longest_first,
    lowest_log_loss,
    round_checkpoints,
    runs_alone,
    with_rounds,
)

__all__ = [
    "ROUND_GRID",
    "blank_out",
    "boosting_rounds",
    "choose_rounds",
    "cross_val_rounds",
    "fit_and_predict",
    "fit_block",
    "fit_cost",
    "fit_threaded",
    "fit_weighted",
    "grouped_folds",
    "in_given_order",
    "longest_first",
    "lowest_log_loss",
    "make_folds",
    "param_combinations",
    "proba_all_classes",
    "round_checkpoints",
    "runs_alone",
    "staged_proba",
    "take_rows",
    "with_rounds",
    "with_seed",
]
