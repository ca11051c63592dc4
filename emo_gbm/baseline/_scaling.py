"""Feature scaling of the classifier: robust clipping bounds and standardisation statistics
learnt in ``fit``, applied to every batch."""

import warnings

import numpy as np


def robust_scaling(array, tail=0.01, max_rows=200_000):
    """Clipping bounds, mean and standard deviation of each feature of a (n, steps, F) array.

    The bounds are the ``tail`` and ``1 - tail`` quantiles; mean and deviation are those of
    the values clipped to them, NaN ignored. Sensor glitches (Kinect values of 1e40, which
    become inf in float32) then neither set the scale nor reach the network. Statistics come
    from at most about ``max_rows`` evenly spaced time steps, which estimates them well at a
    fraction of the cost.
    """
    n, steps, n_features = array.shape
    n_windows = max(1, min(n, -(-max_rows // steps)))
    index = np.unique(np.linspace(0, n - 1, n_windows).round().astype(np.int64))
    rows = np.asarray(array[index], dtype=np.float64).reshape(-1, n_features)
    observed = (~np.isnan(rows)).any(axis=0)
    low = np.zeros(n_features)
    high = np.zeros(n_features)
    if observed.any():
        seen = rows[:, observed]
        low[observed], high[observed] = np.nanquantile(seen, [tail, 1.0 - tail], axis=0)
        # More than `tail` infinite values: bound by the largest finite ones instead.
        finite = np.where(np.isfinite(seen), seen, np.nan)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-inf columns
            low[observed] = np.where(np.isfinite(low[observed]), low[observed],
                                     np.nan_to_num(np.nanmin(finite, axis=0)))
            high[observed] = np.where(np.isfinite(high[observed]), high[observed],
                                      np.nan_to_num(np.nanmax(finite, axis=0)))
    clipped = np.clip(rows, low, high)
    count = (~np.isnan(clipped)).sum(axis=0)
    mean = np.divide(np.nansum(clipped, axis=0), count, out=np.zeros(n_features), where=count > 0)
    var = np.divide(np.nansum((clipped - mean) ** 2, axis=0), count,
                    out=np.zeros(n_features), where=count > 0)
    std = np.sqrt(var)
    # Constant (or never observed) features: leave them unscaled rather than divide by ~0.
    std[std < 1e-6 * np.maximum(1.0, np.abs(mean))] = 1.0
    return low, high, mean, std



def fit_scaling(X, modalities, standardize):
    """Clipping bounds, means and scales of every feature of every modality.

    Returns three dicts modality -> float32 array: bounds of shape (2, n_features), means
    and scales of shape (n_features,); with ``standardize=False`` the bounds are infinite,
    the means 0 and the scales 1 (and infinite values are refused).
    """
    bounds, means, scales = {}, {}, {}
    for m in modalities:
        n_features = X[m].shape[2]
        if standardize:
            low, high, mean, std = robust_scaling(X[m])
        else:
            if np.isinf(X[m]).any():
                raise ValueError(
                    f"X[{m!r}] contains infinite values; standardize=True clips them"
                )
            low, high = np.full(n_features, -np.inf), np.full(n_features, np.inf)
            mean, std = np.zeros(n_features), np.ones(n_features)
        bounds[m] = np.stack([low, high]).astype(np.float32)
        means[m] = mean.astype(np.float32)
        scales[m] = std.astype(np.float32)
    return bounds, means, scales


def scaled_batch(X, index, modalities, bounds, means, scales):
    """Time-major float32 inputs of the windows ``index``, standardised, NaN -> 0."""
    xs = []
    for m in modalities:
        block = np.asarray(X[m][index], dtype=np.float32)
        low, high = bounds[m]
        np.clip(block, low, high, out=block)  # NaN stays NaN
        block -= means[m]
        block /= scales[m]
        np.nan_to_num(block, copy=False, nan=0.0)
        xs.append(np.ascontiguousarray(block.transpose(1, 0, 2)))
    return xs
