"""The report: figures and a README from the outputs of the other stages.

:func:`write_report` writes ``reports/README.md`` and ``reports/figures/``;
:func:`run_modality_table` writes ``BUILD/modalities.json``, one of its inputs. The bench
(``benchmarks/``, outside the package) writes ``reports/bench.json``, which the report reads.
"""

from emo_gbm.reporting._bench import TARGETS, bench_rows, figure_bench, figure_scaling, fit_loglog_slope
from emo_gbm.reporting._figures import (
    figure_confusion,
    figure_missing,
    figure_modalities,
    figure_recall,
    missing_accuracy,
)
from emo_gbm.reporting._importance import figure_importance, gain_importance
from emo_gbm.reporting._inputs import MODELS, neighbourhood_missing, read_prediction_folder
from emo_gbm.reporting._modalities import delete_modalities, modality_conditions, run_modality_table
from emo_gbm.reporting._readme import comparison_rows
from emo_gbm.reporting._report import write_report
from emo_gbm.reporting._style import (
    CLASS_COLOURS,
    DELETION_GAP_TARGET,
    DPI,
    EARLY_FUSION_PIPELINE,
    FIGURES,
    MARGIN_TARGETS,
    MISSING_BINS,
    MODALITY_TITLES,
    MODEL_COLOURS,
    NEIGHBOURHOOD_HALF,
    PUBLISHED_WA,
    condition_title,
)
from emo_gbm.reporting._timeline import choose_timeline_recording, figure_timeline

__all__ = [
    "CLASS_COLOURS",
    "DELETION_GAP_TARGET",
    "DPI",
    "EARLY_FUSION_PIPELINE",
    "FIGURES",
    "MARGIN_TARGETS",
    "MISSING_BINS",
    "MODALITY_TITLES",
    "MODELS",
    "MODEL_COLOURS",
    "NEIGHBOURHOOD_HALF",
    "PUBLISHED_WA",
    "TARGETS",
    "bench_rows",
    "choose_timeline_recording",
    "comparison_rows",
    "condition_title",
    "delete_modalities",
    "figure_bench",
    "figure_confusion",
    "figure_importance",
    "figure_missing",
    "figure_modalities",
    "figure_recall",
    "figure_scaling",
    "figure_timeline",
    "fit_loglog_slope",
    "gain_importance",
    "missing_accuracy",
    "modality_conditions",
    "neighbourhood_missing",
    "read_prediction_folder",
    "run_modality_table",
    "write_report",
]
