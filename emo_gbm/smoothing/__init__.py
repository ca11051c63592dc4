"""From window posteriors to one label per 0.01 s frame.

Windows overlap, so each frame is covered by several windows. :class:`FrameSmoother`
averages the posteriors of the windows covering a frame (overlap-add, optionally weighted
towards each window's centre and with the posteriors sharpened or flattened by a power
first), then labels frames by argmax, by a Viterbi pass of an HMM whose transitions are estimated
from the train labels (which removes the short label flips that averaged posteriors still
show), or by a context model: a logistic regression reading the averaged log-posteriors of
the frame and of frames up to 4 s either side, a learned filter that can undo some of the
blur of 4 s windows. Its parameters are tuned, and the context model fitted, on
out-of-fold posteriors of the train set.
"""

from emo_gbm.smoothing._constants import (
    CONTEXT_OFFSETS,
    METHODS,
    POSTERIOR_POWER_GRID,
    PRIOR_POWER_GRID,
    SELF_TRANSITION_GRID,
    TAPERS,
)
from emo_gbm.smoothing._context import frame_context_features
from emo_gbm.smoothing._hmm import estimate_transitions, viterbi
from emo_gbm.smoothing._overlap import nearest_window_labels, overlap_add, sharpen, taper_weights
from emo_gbm.smoothing._smoother import FrameSmoother

__all__ = [
    "CONTEXT_OFFSETS",
    "METHODS",
    "POSTERIOR_POWER_GRID",
    "PRIOR_POWER_GRID",
    "SELF_TRANSITION_GRID",
    "TAPERS",
    "FrameSmoother",
    "estimate_transitions",
    "frame_context_features",
    "nearest_window_labels",
    "overlap_add",
    "sharpen",
    "taper_weights",
    "viterbi",
]
