"""The feature streams of a synthetic recording: sample times and values of each modality."""

import numpy as np

from emo_gbm.constants import FRAME_RATE, N_FEATURES, RATES
from emo_gbm.data._signals import _alternating_mask, _ar1, _poisson_runs, _runs_mask
from emo_gbm.data._synth_constants import (
    _AUDIO,
    _KINECT,
    EYES,
    FACE_DROPOUT_MEDIAN,
    FACE_DROPOUT_RATE,
    FACE_SCALES,
    JITTER_PROBS,
    JITTER_STEPS,
    KINECT_LOSS_MEDIAN,
    KINECT_LOSS_RATE,
    KINECT_STEP_MS,
    LISTEN_MEDIAN,
    PAUSE_RATE,
    PAUSE_SECONDS,
    STREAM_SHIFT_MAX,
    STREAM_SHIFT_PROB,
    TURN_SIGMA,
)
from emo_gbm.data._world_draws import N_COUPLING


def _sample_frames(rng, modality, n):
    """Frame index of every sample, and for Kinect its time in milliseconds (None for the others)."""
    shift = int(STREAM_SHIFT_MAX * FRAME_RATE)
    first = int(rng.integers(0, shift + 1)) if rng.random() < STREAM_SHIFT_PROB else 0
    end = n - (int(rng.integers(0, shift + 1)) if rng.random() < STREAM_SHIFT_PROB else 0)
    end = max(end, first + FRAME_RATE)  # short recordings keep at least a second of samples
    end = min(end, n)
    if modality == "audio":
        return np.arange(first, end), None
    if modality == "kinect":
        ms = first * 10 + KINECT_STEP_MS * np.arange((end - first) * 10 // KINECT_STEP_MS + 1)
        ms = ms[ms <= (end - 1) * 10]  # never past the last frame
        return ms // 10, ms
    steps = rng.choice(JITTER_STEPS, size=(end - first) // 2 + 2, p=JITTER_PROBS)
    frames = first + np.concatenate([[0], np.cumsum(steps)])
    return frames[frames < end], None


def _nuisance(rng, n, spec, latent):
    """Slow nuisance factors whose amplitude and tempo depend on the emotion latent."""
    # Tempo: the factors run on a clock that goes faster with arousal (or the world's tempo_weights).
    weights = spec.get("tempo_weights")
    speed = np.exp(spec["tempo"] * (latent[:, 0] if weights is None else latent @ np.asarray(weights)))
    clock = np.concatenate([[0.0], np.cumsum(speed[:-1])])
    base = _ar1(rng, int(np.ceil(clock[-1])) + 2, spec["timescales"])
    whole = clock.astype(np.int64)
    frac = (clock - whole)[:, None]
    factors = base[whole] * (1.0 - frac) + base[whole + 1] * frac
    # Bounded, so that a strong emotion changes the amplitude at most ~3-fold.
    return factors * np.exp(np.clip(0.5 * latent @ spec["dynamics"].T, -1.2, 1.2))


def _mixed(rng, modality, world, actor, latent, shared, frames):
    """Unit-scale feature values (n_samples, n_features) of a generic modality."""
    spec = world["modalities"][modality]
    own = actor["modalities"][modality]
    mix = world["mixing"][modality]
    params = world["params"]
    n = latent.shape[0]
    factors = _nuisance(rng, n, {**spec, "tempo": mix["tempo"], "tempo_weights": params.tempo_weights}, latent)
    # Frame noise is slightly autocorrelated, like smoothed low-level descriptors.
    noise_timescale = -1.0 / np.log(mix["noise_rho"]) / RATES[modality]
    noise = _ar1(rng, len(frames), np.full(N_FEATURES[modality], noise_timescale), rate=RATES[modality])
    expression = latent[frames] @ own["emotion"].T
    if params.interaction:
        # A slow nuisance (head pose, distance to the sensor) changes how much of the
        # expression the sensor sees: emotion x nuisance, not a sum.
        expression = expression * np.exp(np.clip(params.interaction * factors[frames, :1], -1.5, 1.5))
    values = expression + factors[frames] @ spec["nuisance"].T + shared[frames] @ spec["shared"].T
    if params.noise_dynamics:
        noise = noise * np.exp(np.clip(0.5 * latent[frames] @ spec["noise_emotion"].T, -1.2, 1.2))
    values += noise * spec["noise"]
    if params.coupling:
        values += _coupled(rng, spec["coupling"], latent, frames)
    recording_offset = mix["recording_offset"] * rng.standard_normal(N_FEATURES[modality])
    values = values * own["gain"] + own["offset"] + recording_offset
    if params.drift:
        values += _drift(rng, n, N_FEATURES[modality], params)[frames]
    if params.saturation:
        values = np.tanh(params.saturation * values) / params.saturation
    if params.rectify_share:
        values = np.where(spec["rectified"], np.maximum(values - spec["threshold"], 0.0), values)
    return values


def _coupled(rng, coupling, latent, frames):
    """Zero-mean factors whose correlations across features turn with the emotion (see _add_world_extras)."""
    factors = _ar1(rng, latent.shape[0], coupling["timescales"])[frames]
    phi = latent[frames] @ coupling["direction"].T  # (n_samples, N_COUPLING)
    angle = coupling["base"][None] + coupling["sensitivity"][None] * phi[:, None, :]
    first, second = factors[:, None, :N_COUPLING], factors[:, None, N_COUPLING:]
    return (coupling["radius"][None, :, None] * (np.cos(angle) * first + np.sin(angle) * second)).sum(-1)


#: Slow drift factors per recording (lighting, microphone gain, sensor warm-up).
N_DRIFT = 3


def _drift(rng, n, n_feat, params):
    """Slow AR(1) drifts (n_frames, n_feat), low rank, loadings drawn anew for each recording."""
    factors = _ar1(rng, n, np.full(N_DRIFT, params.drift_timescale))
    loadings = rng.standard_normal((n_feat, N_DRIFT)) * params.drift / np.sqrt(N_DRIFT)
    return factors @ loadings.T


def _to_scale(z, loc, scale, positive):
    """Map unit-scale values to a feature's magnitude; positive features are log-normal."""
    if not positive:
        return loc + scale * 5.0 * np.tanh(z / 5.0)
    sigma = np.sqrt(np.log1p((scale / loc) ** 2))
    # Soft-clip before exponentiating: measured quantities have bounded ranges.
    return loc * np.exp(sigma * 4.0 * np.tanh(z / 4.0) - 0.5 * sigma * sigma)


def _to_scales(z, table):
    """:func:`_to_scale` of every column of ``z``, with the (name, location, scale, positive, ...) rows of ``table``."""
    values = np.empty_like(z)
    for j, (_, loc, scale, positive, *_) in enumerate(table):
        values[:, j] = _to_scale(z[:, j], loc, scale, positive)
    return values


def _render_audio(rng, world, actor, latent, shared, frames, n):
    z = _mixed(rng, "audio", world, actor, latent, shared, frames)
    speaking = _alternating_mask(rng, n, actor["speak_median"], LISTEN_MEDIAN, TURN_SIGMA)
    speaking &= ~_poisson_runs(rng, n, PAUSE_RATE, np.mean(PAUSE_SECONDS), 0.4, PAUSE_SECONDS)
    # Syllables: voicing alternates at a rate that rises with arousal.
    rate = actor["syllable_rate"] * np.exp(0.2 * latent[:, 0])
    phase = 2 * np.pi * np.cumsum(rate) / FRAME_RATE + 0.8 * _ar1(rng, n, 0.5)[:, 0]
    syllable = np.sin(phase)
    voiced = (syllable > -0.1)[frames]
    values = _to_scales(z, _AUDIO)
    for j, (*_, unvoiced) in enumerate(_AUDIO):
        if unvoiced is not None:
            values[~voiced, j] = unvoiced
    values[:, 0] *= 0.55 + 0.45 * np.clip(syllable[frames] + 0.3, 0.0, 1.0)  # loudness follows syllables
    values[~speaking[frames]] = 0.0
    return values


def _render_face(rng, world, actor, latent, shared, frames, n):
    values = _mixed(rng, "face_nn", world, actor, latent, shared, frames) * FACE_SCALES
    dropped = _poisson_runs(rng, n, FACE_DROPOUT_RATE, FACE_DROPOUT_MEDIAN, 0.7, (0.1, 2.5))
    values[dropped[frames]] = 0.0
    return values


def _render_kinect(rng, world, actor, latent, shared, frames, n):
    values = _to_scales(_mixed(rng, "kinect", world, actor, latent, shared, frames), _KINECT)
    lost = _poisson_runs(rng, n, KINECT_LOSS_RATE, KINECT_LOSS_MEDIAN, 0.6, (0.3, 4.0))
    values[lost[frames]] = 0.0
    return values


def _render_eyes(rng, world, actor, latent, shared, frames, n):
    own = actor["eyes"]
    blink_rate = own["blink_rate"] * np.exp(latent @ np.asarray(EYES["blink_emotion"]))
    saccade_rate = own["saccade_rate"] * np.exp(latent @ np.asarray(EYES["saccade_emotion"]))
    blink_on = np.flatnonzero(rng.random(n) < blink_rate / FRAME_RATE)
    blinking = _runs_mask(n, blink_on, rng.integers(*EYES["blink_frames"], blink_on.size))
    saccade_on = rng.random(n) < saccade_rate / FRAME_RATE
    onsets = np.flatnonzero(saccade_on)
    moving = _runs_mask(n, onsets, rng.integers(*EYES["saccade_frames"], onsets.size))
    # Gaze holds a target per fixation; targets scatter around an emotion-shifted centre.
    fixation_id = np.cumsum(saccade_on)
    first_frame = np.concatenate([[0], onsets])
    centre = own["gaze"] + np.outer(latent[first_frame] @ np.asarray(EYES["gaze_y_emotion"]), [0.0, 1.0])
    spread = own["spread"] * np.exp(latent[first_frame] @ np.asarray(EYES["spread_emotion"]))
    targets = centre + spread[:, None] * rng.standard_normal((first_frame.size, 2))
    head = 0.03 * _ar1(rng, n, [1.5, 1.5])
    left = targets[fixation_id] + head + EYES["tremor"] * rng.standard_normal((n, 2))
    right = left + [own["vergence"], 0.0] + EYES["tremor"] * rng.standard_normal((n, 2))
    # Column order of the contract: left x, y, right x, y, open flag, fixation flag.
    return np.column_stack(
        [left, right, (~blinking).astype(np.float64), (~blinking & ~moving).astype(np.float64)]
    )[frames]


_RENDERERS = {"audio": _render_audio, "face_nn": _render_face, "eyes": _render_eyes, "kinect": _render_kinect}
