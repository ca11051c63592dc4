"""Aligning a sampled stream to the 100 fps frame grid: measured rate, hold, missing samples."""

import numpy as np

#: A sample covers the frames up to this many periods of its modality's nominal rate after it;
#: 2.5 bridges the jitter of the contract (eyes/face steps up to 0.04 s at 50 fps, i.e. 2 periods).
HOLD_PERIODS = 2.5

#: Timestamps closer than this (seconds) are the same instant; absorbs float noise of parsing
#: and of shifted clocks.
TIME_TOLERANCE = 1e-6


def measured_rate(times, default=None):
    """Sampling rate of a stream from its sorted sample times: 1 / the median step.

    Rounded to two significant digits: the rate only sets how long a sample is held when
    aligning (:data:`HOLD_PERIODS` periods), and the rounding keeps a stream at its nominal
    rate despite rounded timestamps (Kinect's 0.067 s steps give 15, not 14.93).

    Parameters
    ----------
    times : array-like of shape (n_samples,)
        Strictly increasing sample times in seconds (as :func:`read_modality` returns them).
    default : float, optional
        Returned when there are fewer than two samples.

    Examples
    --------
    >>> measured_rate([0.0, 0.067, 0.134, 0.201]), measured_rate([0.0, 0.02, 0.04, 0.07])
    (15.0, 50.0)
    >>> measured_rate([1.0], default=32.0)
    32.0
    """
    steps = np.diff(np.asarray(times, dtype=np.float64))
    steps = steps[steps > 0]
    if steps.size == 0:
        return default
    return float(f"{1.0 / float(np.median(steps)):.2g}")


def align_stream(sample_times, values, grid_time, rate):
    """Align a sampled stream to the frame grid by timestamp.

    Each grid frame takes the most recent sample at or before it (within
    :data:`TIME_TOLERANCE`), if that sample is at most :data:`HOLD_PERIODS` periods of ``rate``
    old. A sample whose cells are all 0 or NaN is missing (the contract codes missing data as
    zeros). Frames with no covering present sample get a NaN row; NaN cells of a present sample
    stay NaN.

    Parameters
    ----------
    sample_times : array-like of shape (n_samples,)
        Sample times in seconds, sorted ascending (as :func:`read_modality` returns them).
    values : array-like of shape (n_samples, n_features)
    grid_time : array-like of shape (n_frames,)
        Frame times in seconds (any order).
    rate : float
        Nominal sampling rate of the stream in samples per second.

    Returns
    -------
    aligned : ndarray of shape (n_frames, n_features), float32
    present : ndarray of shape (n_frames,), bool

    Examples
    --------
    >>> import numpy as np
    >>> grid = np.round(np.arange(0.0, 0.08, 0.01), 2)
    >>> aligned, present = align_stream([0.02, 0.04], [[1.0], [0.0]], grid, rate=50)
    >>> present.tolist()
    [False, False, True, True, False, False, False, False]
    >>> aligned[2:4, 0].tolist()
    [1.0, 1.0]
    """
    sample_times = np.asarray(sample_times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float32)
    grid_time = np.asarray(grid_time, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != sample_times.shape[0]:
        raise ValueError(f"values must have shape (n_samples, n_features), got {values.shape} "
                         f"for {sample_times.shape[0]} samples")
    if np.any(np.diff(sample_times) < 0):
        raise ValueError("sample_times must be sorted ascending")
    n_features = values.shape[1]
    aligned = np.full((grid_time.shape[0], n_features), np.nan, dtype=np.float32)
    if sample_times.size == 0:
        return aligned, np.zeros(grid_time.shape[0], dtype=bool)
    source = np.searchsorted(sample_times, grid_time + TIME_TOLERANCE, side="right") - 1
    has_sample = source >= 0
    source = np.where(has_sample, source, 0)
    age = grid_time - sample_times[source]
    covered = has_sample & (age <= HOLD_PERIODS / rate + TIME_TOLERANCE)
    sample_present = ~np.all((values == 0) | np.isnan(values), axis=1)
    present = covered & sample_present[source]
    aligned[present] = values[source[present]]
    return aligned, present
