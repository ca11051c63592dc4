"""Methods, tapers and tuning grids of the frame smoother."""

#: Methods of :class:`FrameSmoother`.
METHODS = ("viterbi", "overlap", "argmax", "context")

#: Window weightings for overlap-add: flat, or falling towards the window's edges.
TAPERS = ("flat", "triangular", "hann")

#: Candidates for the tuned HMM self-transition probability (per decoding step).
SELF_TRANSITION_GRID = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999)

#: Candidates for the tuned prior exponent: emissions are posterior / prior ** prior_power.
PRIOR_POWER_GRID = (0.0, 0.5, 1.0)

#: Candidates for the tuned power of the window posteriors before overlap-add.
POSTERIOR_POWER_GRID = (1.0, 2.0)

#: Frames either side of a frame whose overlap-added log-posteriors the context model reads
#: (besides the frame's own): 0.5 s apart up to 2 s, then 3 and 4 s.
CONTEXT_OFFSETS = (50, 100, 150, 200, 300, 400)

#: Posteriors are floored here before the log, so no class is ever impossible.
PROBA_FLOOR = 1e-6
