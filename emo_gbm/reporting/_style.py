"""Constants and drawing helpers shared by the report's figures and tables."""

from pathlib import Path

import numpy as np

from emo_gbm.constants import MODALITIES

#: The challenge's published public-test WA of its BiLSTM baseline on the real data
#: (``docs/data_format.md``): all four modalities, and each modality alone.
PUBLISHED_WA = {"all": 0.525, "audio": 0.32, "face_nn": 0.48, "kinect": 0.36, "eyes": 0.24}

#: Display names of the modalities.
MODALITY_TITLES = {"audio": "audio", "face_nn": "face", "eyes": "eyes", "kinect": "body (Kinect)"}

#: The early-fusion pipeline the stack is compared with.
EARLY_FUSION_PIPELINE = "early_fusion"

#: Half-width, in frames, of the neighbourhood over which a frame's missing share is taken:
#: 200 frames each side make the 4 s of the model's windows.
NEIGHBOURHOOD_HALF = 200

#: Edges of the missing-share bins of the accuracy-against-missing figure.
MISSING_BINS = np.array([0.0, 1e-9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 - 1e-9, 1.0 + 1e-9])

#: Class colours, fixed so every figure shows an emotion in the same colour.
CLASS_COLOURS = ("#d62728", "#1f77b4", "#8c564b", "#ff7f0e", "#9467bd", "#7f7f7f")
MODEL_COLOURS = {"stack": "#2ca02c", "bilstm": "#1f77b4", "published": "#bbbbbb", "trained": "#98df8a",
                 "bilstm_trained": "#aec7e8"}

#: Figure file names (in ``OUT/figures``) and their size in inches at :data:`DPI`.
FIGURES = {
    "confusion": ("confusion.png", (11.0, 4.8)),
    "recall": ("recall.png", (9.0, 4.5)),
    "modalities": ("modalities.png", (10.0, 6.0)),
    "missing": ("missing.png", (11.0, 4.5)),
    "timeline": ("timeline.png", (12.0, 6.5)),
    "importance": ("importance.png", (12.0, 4.8)),
    "bench": ("bench.png", (10.0, 4.8)),
}
DPI = 100

#: Targets of the GBM issue: minimum WA margins of the stack.
MARGIN_TARGETS = {"early_fusion": 0.02, "single": 0.05, "smoother": 0.01}
#: Target of the suite issue (it retired the earlier per-modality drops against the full stack):
#: deleting a modality at test may cost at most this much WA more than a stack trained without it.
DELETION_GAP_TARGET = 0.01


def _figure(name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, size = FIGURES[name]
    return plt, plt.figure(figsize=size, dpi=DPI, layout="constrained")


def _save(plt, fig, out_dir, name):
    path = Path(out_dir) / "figures" / FIGURES[name][0]
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _not_run(ax, text):
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color="#777777", wrap=True,
            transform=ax.transAxes, bbox=dict(boxstyle="round", fc="#f4f4f4", ec="#cccccc"))


def _model_label(model):
    if model.available:
        return f"{model.title}: WA {model.scores['WA']:.3f}, UA {model.scores['UA']:.3f}"
    return model.title


def _modality_rows(table):
    """The modality table's rows in display order: all, all but one, one alone."""
    rows = {row["condition"]: row for row in table.get("conditions", [])}
    order = ["all"] + [f"without_{m}" for m in MODALITIES] + [f"only_{m}" for m in MODALITIES]
    return [rows[c] for c in order if c in rows]


def condition_title(condition):
    """Display name of a modality-table condition.

    Parameters
    ----------
    condition : str
        ``"all"``, ``"without_<modality>"`` or ``"only_<modality>"``.

    Returns
    -------
    str

    Examples
    --------
    >>> condition_title("without_face_nn"), condition_title("only_kinect"), condition_title("all")
    ('all but face', 'body (Kinect) alone', 'all four')
    """
    if condition == "all":
        return "all four"
    kind, _, modality = condition.partition("_")
    title = MODALITY_TITLES.get(modality, modality)
    return f"all but {title}" if kind == "without" else f"{title} alone"


def _published(condition):
    if condition == "all":
        return PUBLISHED_WA["all"]
    kind, _, modality = condition.partition("_")
    return PUBLISHED_WA.get(modality) if kind == "only" else None
