"""Per-modality base models stacked under a meta-learner: the stacker, its blocks, defaults and pooling."""

from emo_gbm.ensemble._blocks import ModalityBlocks
from emo_gbm.ensemble._defaults import (
    META_C_GRID,
    PROBA_FLOOR,
    default_base_estimator,
    default_final_estimator,
    default_linear_expert,
)
from emo_gbm.ensemble.pooling import PooledLogisticRegression
from emo_gbm.ensemble.stacking import StackedModalityClassifier

__all__ = [
    "META_C_GRID",
    "PROBA_FLOOR",
    "ModalityBlocks",
    "PooledLogisticRegression",
    "StackedModalityClassifier",
    "default_base_estimator",
    "default_final_estimator",
    "default_linear_expert",
]
