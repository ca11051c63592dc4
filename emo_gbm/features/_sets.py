"""Named feature sets: plain lists of window statistics, and the constants they rest on."""

#: Statistics of continuous columns, in the order their columns appear.
#: ``mean_dev`` is the window mean minus the mean of the whole recording (over its present
#: frames): the window relative to the actor's level in that recording, a per-recording
#: normalisation that does not depend on the hop.
#:
#: The statistics after ``mean_dev`` (:data:`DYNAMICS_STATISTICS`) are appended so the order of
#: the older ones, and hence the columns of the ``"default"`` set, stay as they were.
CONTINUOUS_STATISTICS = (
    "mean", "std", "min", "max", "q10", "q50", "q90", "mean_abs_diff", "slope", "mean_dev",
    "acf", "crossing_rate", "half_diff", "std_rel",
)

#: Statistics of a column's movement within the window, all over its present frames only
#: (``x`` the column, ``m`` the window mean, NaN where a statistic is undefined):
#:
#: ``acf``
#:     Lag-:data:`ACF_LAG` autocorrelation of ``x - m`` in its variogram form,
#:     ``1 - D / (2 * v)``: ``D`` is the mean of ``(x[t + k] - x[t])**2`` over the pairs of
#:     frames ``(t, t + k)`` both in the window and both present, ``v`` the window variance
#:     (``std**2``). It equals ``mean((x[t] - m) * (x[t + k] - m)) / v`` whenever both ends of
#:     the pairs spread like the whole window (without gaps: up to the ``k`` frames at each
#:     edge), and needs no window mean inside the sum, so it costs two cumulative sums. At
#:     most 1; clipped below at -1. NaN with fewer than :data:`ACF_MIN_PAIRS` pairs or when the
#:     window is flat.
#: ``crossing_rate``
#:     Crossings of the window mean per second of present frames: steps ``t -> t + 1``, both
#:     frames present, from ``x < m`` to ``x >= m`` or back (``m`` rounded to the stream's
#:     float32, so a frame at the mean counts as on or above it), times the frame rate,
#:     divided by the number of present frames. A held sample never crosses. NaN when the
#:     window has no two consecutive present frames.
#: ``half_diff``
#:     Mean of the second half of the window minus mean of the first half; the halves split
#:     ``[start, stop)`` at ``start + (stop - start) // 2``. NaN when a half has no present frame.
#: ``std_rel``
#:     ``std`` of the window divided by the (population) standard deviation of the column over
#:     the whole recording's present frames: the spread relative to the actor's spread in that
#:     recording, as ``mean_dev`` is the level relative to the recording. NaN when the column
#:     is constant over the recording; 0 for a window that is constant.
DYNAMICS_STATISTICS = ("acf", "crossing_rate", "half_diff", "std_rel")

#: Statistics of the binary eye flag columns: share of present frames with the flag set, and
#: 0 -> 1 transitions per second of present frames (blinks, fixation onsets).
FLAG_STATISTICS = ("flag_frac", "flag_rise_rate")

#: Every statistic known to :class:`WindowFeaturizer`.
STATISTICS = CONTINUOUS_STATISTICS + FLAG_STATISTICS

#: Named feature sets: plain lists of statistic names. ``"default"`` is what the shipped
#: models are trained on; ``"dynamics"`` is every statistic.
FEATURE_SETS = {
    "minimal": ["mean", "std"],
    "moments": ["mean", "std", "min", "max", "flag_frac", "flag_rise_rate"],
    # The plain reference model's statistics: level, spread, range and roughness (of the eye
    # flags, their share and rate of onsets: the mean and roughness of a 0/1 column).
    "reference": ["mean", "std", "min", "max", "mean_abs_diff", "flag_frac", "flag_rise_rate"],
    "default": [s for s in STATISTICS if s not in DYNAMICS_STATISTICS],
    "dynamics": list(STATISTICS),
}

#: Columns of a window table that are not features.
META_COLUMNS = ("rec_id", "start", "stop", "group", "label", "weight")

#: Lag of ``acf`` in frames: 0.1 s, longer than the 2-frame hold of the 50 fps streams so that
#: the hold alone does not make the autocorrelation ~1 (the 15 fps kinect holds 6-7 frames).
ACF_LAG = 10

#: Fewest lagged pairs of present frames for which ``acf`` is computed.
ACF_MIN_PAIRS = 20

#: A variance obtained as ``E[c**2] - E[c]**2`` loses about 1e-16 of ``E[c**2]`` to rounding;
#: below this share of ``E[c**2]`` it is taken as 0 (a flat signal) rather than as a tiny
#: spread whose ratio to another rounding error would be noise.
_FLAT_VARIANCE = 1e-12

_QUANTILES = {"q10": 0.10, "q50": 0.50, "q90": 0.90}
_ORDER_STATISTICS = ("min", "max") + tuple(_QUANTILES)

#: Added to the agreement mass of each class so that a window whose frames all have zero
#: agreement still gets the plain majority class instead of class 0.
_COUNT_TIE_BREAK = 1e-6
