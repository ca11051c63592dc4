"""Labels of a synthetic recording: emotion episodes, annotator agreement, the shown expression."""

import numpy as np

from emo_gbm.constants import EMOTIONS, FRAME_RATE, MODALITIES
from emo_gbm.data._signals import _ar1, _smooth
from emo_gbm.data._synth_constants import (
    AGREEMENT_BASE,
    AGREEMENT_NOISE,
    AGREEMENT_SLOPE,
    BLEND_MAX,
    BLEND_PROB,
    BOUNDARY_DROP,
    EMOTION_DIMS,
    N_ANNOTATORS,
    NEUTRAL,
    NEUTRAL_AGREEMENT,
    NEUTRAL_LEAK,
    ONSET_TAU,
)


def _episodes(rng, gate_rng, n, actor, params, noise_rng=None):
    """Frame labels, shown expression, agreement and per-modality expression gates of one recording.

    ``gate_rng`` draws only the gates, so that tuning their distribution leaves the labels alone;
    ``noise_rng`` only the annotator errors of a world with label noise. ``params`` is the
    :class:`~emo_gbm.data._worlds.World`.
    """
    budget = [MODALITIES.index(m) for m in params.budget]
    weights = actor["emotion_weights"]
    emotional = [e for e in range(len(EMOTIONS)) if e != NEUTRAL]
    state = NEUTRAL if rng.random() < 0.3 else emotional[rng.choice(len(emotional), p=weights)]
    labels = np.empty(n, dtype=np.int8)
    expression = np.empty((n, len(EMOTION_DIMS)))
    agreement = np.empty(n)
    gates = np.empty((n, len(MODALITIES)))
    boundaries = []
    pos = None
    while pos is None or pos < n:
        median = params.episode_median[1 if state == NEUTRAL else 0]
        length = int(np.clip(rng.lognormal(np.log(median), params.episode_sigma), *params.episode_range) * FRAME_RATE)
        if pos is None:
            pos = -int(rng.random() * length)  # the recording starts inside an episode
        else:
            boundaries.append(pos)
        raw = rng.beta(2.5, 2.0)
        # Mixed emotions: part of the expression belongs to another emotion, in every modality
        # alike, which no fusion can undo.
        other = emotional[rng.integers(len(emotional))]
        blend = rng.uniform(0.0, BLEND_MAX) * (rng.random() < BLEND_PROB)
        if state == NEUTRAL:
            level, agree = 0.0, NEUTRAL_AGREEMENT + 0.12 * rng.standard_normal()
            shown = actor["prototypes"][other] * blend * NEUTRAL_LEAK
        else:
            level = np.clip(actor["expressiveness"] * (0.15 + 0.85 * raw), 0.1, 1.4)
            agree = AGREEMENT_BASE + AGREEMENT_SLOPE * raw + AGREEMENT_NOISE * rng.standard_normal()
            shown = level * ((1.0 - blend) * actor["prototypes"][state] + blend * actor["prototypes"][other])
        # How much of the emotion each modality shows in this episode: an actor splits one
        # expression budget between voice and body, differently every episode, so the two
        # complement each other (and the others can stand in for a missing face).
        gate = np.ones(len(MODALITIES))
        if budget:
            gate[budget] = len(budget) * gate_rng.dirichlet(np.full(len(budget), params.expression_concentration))
        label = state
        if noise_rng is not None and noise_rng.random() < params.label_noise:
            # Annotator error: the majority marks another emotion than the one shown.
            label = (state + noise_rng.integers(1, len(EMOTIONS))) % len(EMOTIONS)
            agree -= params.label_noise_agreement
        lo, hi = max(pos, 0), min(pos + length, n)
        labels[lo:hi], expression[lo:hi], agreement[lo:hi], gates[lo:hi] = label, shown, agree, gate
        pos += length
        if state == NEUTRAL:
            state = emotional[rng.choice(len(emotional), p=weights)]
        elif rng.random() < actor["back_to_neutral"]:
            state = NEUTRAL
        else:
            others = [k for k, e in enumerate(emotional) if e != state]
            p = weights[others] / weights[others].sum()
            state = emotional[others[rng.choice(len(others), p=p)]]
    if boundaries:
        edges = np.asarray(boundaries)
        frames = np.arange(n)
        before = np.clip(np.searchsorted(edges, frames), 1, len(edges)) - 1
        after = np.minimum(before + 1, len(edges) - 1)
        distance = np.minimum(np.abs(frames - edges[before]), np.abs(frames - edges[after]))
        agreement -= BOUNDARY_DROP * np.clip(1.0 - distance / (params.boundary_width * FRAME_RATE), 0.0, 1.0)
    agreement = np.clip(np.round(agreement * N_ANNOTATORS), 2, N_ANNOTATORS) / N_ANNOTATORS
    return labels, expression, agreement, gates


def _emotion_latents(rng, expression, gates):
    """Smooth emotion trajectories (n_frames, 6), one per modality, following the shown expression."""
    n, n_dims = expression.shape
    stacked = (expression[:, None, :] * gates[:, :, None]).reshape(n, -1)
    latent = _smooth(stacked, ONSET_TAU).reshape(n, len(MODALITIES), n_dims)
    waxing = 1.0 + 0.3 * _ar1(rng, n, 2.0)
    latent = latent * np.clip(waxing, 0.2, None)[:, :, None] + 0.08 * rng.standard_normal(n_dims)
    return {m: latent[:, k] for k, m in enumerate(MODALITIES)}
