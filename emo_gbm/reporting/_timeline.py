"""The timeline figure: one test recording over time."""

import numpy as np

from emo_gbm.constants import AGREEMENT_THRESHOLD, EMOTIONS, FRAME_RATE, MODALITIES
from emo_gbm.metrics import scored_frames
from emo_gbm.reporting._style import CLASS_COLOURS, MODALITY_TITLES, _figure, _not_run, _save


def choose_timeline_recording(inputs):
    """A representative test recording: some modality missing, stack accuracy near its WA.

    Parameters
    ----------
    inputs : object
        What the report read (built by :func:`write_report`).

    Returns
    -------
    str or None
        The recording id; None when nothing is scored. The choice is deterministic.
    """
    stack = inputs.models.get("stack")
    reference = stack if stack is not None and stack.available else next(
        (m for m in inputs.models.values() if m.available), None)
    if reference is None:
        return None
    candidates = []
    for rec_id, f in sorted(inputs.frames.items()):
        scored = scored_frames(f["agreement"])
        if scored.sum() < 5 * FRAME_RATE:
            continue
        share_present = f["present"].mean(axis=0)
        mixed = np.sum((share_present > 0.05) & (share_present < 0.95))
        accuracy = float(np.mean(reference.predictions[rec_id][scored] == f["labels"][scored]))
        # prefer recordings where some modality comes and goes, then accuracy near the overall WA
        candidates.append((-min(mixed, 2), abs(accuracy - reference.scores["WA"]), rec_id))
    if not candidates:
        return None
    return min(candidates)[2]


def _bands(ax, time, rows, colours_of):
    """Draw one horizontal band of colours per row (a value per frame) as one image.

    One image instead of a rectangle per run keeps the figure fast whatever the number of
    label changes; ``colours_of`` maps a value to a colour, or None for no colour.
    """
    from matplotlib.colors import to_rgba

    n_rows = len(rows)
    if n_rows == 0:
        return
    image = np.zeros((n_rows * 5, len(time), 4))
    for k, values in enumerate(rows):
        values = np.asarray(values)
        for value in np.unique(values):
            colour = colours_of(value)
            if colour is not None:
                # rows 5k+1..5k+3 of 5 carry the colour: a white gap between bands
                image[5 * k + 1: 5 * k + 4, values == value] = to_rgba(colour)
    step = time[1] - time[0] if len(time) > 1 else 1.0 / FRAME_RATE
    ax.imshow(image, aspect="auto", interpolation="nearest",
              extent=(time[0], time[-1] + step, n_rows - 0.5, -0.5))


def figure_timeline(inputs, out_dir, rec_id=None):
    """One test recording over time: truth, predictions, agreement and modality presence.

    Parameters
    ----------
    inputs : object
        What the report read (built by :func:`write_report`).
    out_dir : str or os.PathLike
        Report folder; the figure goes to ``OUT/figures/``.
    rec_id : str, optional
        The recording; default: :func:`choose_timeline_recording`.

    Returns
    -------
    path : pathlib.Path
        The PNG written.
    rec_id : str or None
        The recording shown (None when nothing could be shown).
    """
    plt, fig = _figure("timeline")
    if rec_id is None:
        rec_id = choose_timeline_recording(inputs)
    if rec_id is None or rec_id not in inputs.frames or inputs.frames[rec_id]["labels"] is None:
        ax = fig.subplots()
        _not_run(ax, "no scored recording to show (predictions or answers missing)")
        return _save(plt, fig, out_dir, "timeline"), None
    f = inputs.frames[rec_id]
    time_s = f["time"]
    top, middle, agreement_ax, bottom = fig.subplots(4, 1, sharex=True, height_ratios=[3, 1.4, 1.1, 2.2])
    rows, names = [f["labels"]], ["truth"]
    for model in inputs.models.values():
        if model.predictions is not None and rec_id in model.predictions:
            rows.append(model.predictions[rec_id])
            names.append(model.title)
        else:
            rows.append(np.full(len(time_s), -1))
            names.append(f"{model.title} (not run)")
    _bands(top, time_s, rows, lambda c: CLASS_COLOURS[c] if c >= 0 else None)
    top.set_yticks(range(len(rows)), names)
    top.set_ylim(len(rows) - 0.5, -0.5)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in CLASS_COLOURS]
    top.legend(handles, EMOTIONS, ncol=6, loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False)
    scored = scored_frames(f["agreement"])
    correct_rows, correct_names = [], []
    for model in inputs.models.values():
        if model.predictions is not None and rec_id in model.predictions:
            hit = model.predictions[rec_id] == f["labels"]
            # 1 correct, 0 wrong, -1 not scored (agreement <= threshold)
            correct_rows.append(np.where(scored, hit.astype(int), -1))
            accuracy = hit[scored].mean() if scored.any() else float("nan")
            correct_names.append(f"{model.title} correct ({accuracy:.0%})")
    _bands(middle, time_s, correct_rows, lambda c: {1: "#4daf4a", 0: "#e41a1c", -1: "#eeeeee"}[int(c)])
    middle.set_yticks(range(len(correct_rows)), correct_names, fontsize=8)
    middle.set_ylim(len(correct_rows) - 0.5 if correct_rows else 0.5, -0.5)
    agreement_ax.plot(time_s, f["agreement"], color="black", lw=0.9)
    agreement_ax.axhline(AGREEMENT_THRESHOLD, color="black", ls=":", lw=0.8)
    agreement_ax.fill_between(time_s, 0, 1.05, where=~scored, color="#eeeeee", step="post")
    agreement_ax.set_ylim(0, 1.05)
    agreement_ax.set_ylabel("agreement", fontsize=8)
    agreement_ax.set_title(f"annotator agreement; frames at or below {AGREEMENT_THRESHOLD} (dotted, shaded) are "
                           "not scored", fontsize=9, loc="left")
    present = f["present"]
    _bands(bottom, time_s, [present[:, k] for k in range(len(MODALITIES))], lambda p: "#555555" if p else None)
    bottom.set_yticks(range(len(MODALITIES)), [f"{MODALITY_TITLES[m]} ({present[:, k].mean():.0%})"
                                               for k, m in enumerate(MODALITIES)], fontsize=8)
    bottom.set_ylim(len(MODALITIES) - 0.5, -0.5)
    bottom.set_xlabel("time on the recording's clock (s)")
    bottom.set_title("modality present (dark) per frame", fontsize=9, loc="left")
    middle.set_title("green: correct, red: wrong, light grey: not scored", fontsize=9, loc="left")
    top.set_xlim(time_s[0], time_s[-1] + 1.0 / FRAME_RATE)
    fig.suptitle(f"Test recording {rec_id}: {len(time_s) / FRAME_RATE:.1f} s")
    return _save(plt, fig, out_dir, "timeline"), rec_id
