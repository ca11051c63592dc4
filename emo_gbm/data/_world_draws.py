"""What a seed draws once for a world: the loadings of every modality and the 12 actors."""

import numpy as np

from emo_gbm.constants import EMOTIONS, N_FEATURES
from emo_gbm.data._signals import _rng
from emo_gbm.data._synth_constants import (
    _EXTRA_WORLD_KEY,
    _LATENT_VARIANCE,
    _WORLD_KEY,
    ACTORS_PER_SESSION,
    BACK_TO_NEUTRAL,
    EMOTION_DIMS,
    EMOTION_WEIGHTS,
    EYES,
    MIXING,
    N_SESSIONS,
    N_SHARED,
    NEUTRAL,
    PROTOTYPES,
    SPEAK_MEDIAN,
    SYLLABLE_RATE,
)
from emo_gbm.data._worlds import get_world


def _make_world(seed, name):
    """Seed-level parameters of a world: loadings of every modality and the 12 actors.

    ``name`` is a world name or a :class:`World`; its parameters are kept under ``"params"``
    and its merged :data:`MIXING` under ``"mixing"``.
    """
    params = get_world(name)
    rng = _rng(seed, _WORLD_KEY)
    n_dims = len(EMOTION_DIMS)
    mixing = {modality: params.mixing_of(modality) for modality in MIXING}
    world = {"params": params, "mixing": mixing, "modalities": {}, "actors": []}
    for modality, mix in mixing.items():
        n_feat = N_FEATURES[modality]
        emotion = rng.standard_normal((n_feat, n_dims)) * np.asarray(mix["visibility"]) * mix["emotion"]
        nuisance = rng.standard_normal((n_feat, mix["n_nuisance"])) * mix["nuisance"] / np.sqrt(mix["n_nuisance"])
        shared = rng.standard_normal((n_feat, N_SHARED)) * mix["shared"] / np.sqrt(N_SHARED)
        variance = (
            (emotion**2).sum(1) * _LATENT_VARIANCE + (nuisance**2).sum(1) + (shared**2).sum(1) + mix["noise"] ** 2
        )
        norm = 1.0 / np.sqrt(variance)  # features come out at roughly unit scale
        world["modalities"][modality] = {
            "emotion": emotion * norm[:, None],
            "nuisance": nuisance * norm[:, None],
            "shared": shared * norm[:, None],
            "noise": mix["noise"] * norm,
            "dynamics": rng.standard_normal((mix["n_nuisance"], n_dims)) * mix["dynamics"],
            "timescales": rng.uniform(*mix["timescale"], mix["n_nuisance"]),
            "norm": norm,
        }
    world["shared_timescales"] = rng.uniform(1.0, 4.0, N_SHARED)
    for _ in range(N_SESSIONS * ACTORS_PER_SESSION):
        actor = {
            "prototypes": PROTOTYPES * np.exp(0.25 * rng.standard_normal(PROTOTYPES.shape))
            + 0.2 * rng.standard_normal(PROTOTYPES.shape) * (np.arange(len(EMOTIONS)) != NEUTRAL)[:, None],
            "emotion_weights": rng.dirichlet(8.0 * EMOTION_WEIGHTS / EMOTION_WEIGHTS.mean()),
            "back_to_neutral": float(np.clip(BACK_TO_NEUTRAL + 0.06 * rng.standard_normal(), 0.2, 0.6)),
            "expressiveness": float(np.exp(0.2 * rng.standard_normal())),
            "speak_median": SPEAK_MEDIAN * float(np.exp(0.25 * rng.standard_normal())),
            "syllable_rate": SYLLABLE_RATE * float(np.exp(0.1 * rng.standard_normal())),
            "eyes": {
                "blink_rate": EYES["blink_rate"] * float(np.exp(EYES["actor_rate"] * rng.standard_normal())),
                "saccade_rate": EYES["saccade_rate"] * float(np.exp(EYES["actor_rate"] * rng.standard_normal())),
                "gaze": EYES["actor_gaze"] * rng.standard_normal(2),
                "spread": EYES["gaze_spread"] * float(np.exp(0.25 * rng.standard_normal())),
                "vergence": EYES["vergence"] * float(np.exp(0.2 * rng.standard_normal())),
            },
            "modalities": {},
        }
        for modality, mix in mixing.items():
            loadings = world["modalities"][modality]["emotion"]
            n_feat = N_FEATURES[modality]
            deviation = rng.standard_normal(loadings.shape) * np.abs(loadings).mean(0) * mix["actor_loading"]
            actor["modalities"][modality] = {
                "emotion": loadings + deviation,
                "gain": np.exp(mix["actor_gain"] * rng.standard_normal(n_feat)),
                "offset": mix["actor_offset"] * rng.standard_normal(n_feat),
            }
        world["actors"].append(actor)
    _add_world_extras(seed, params, world)
    return world


#: Pairs of coupling factors per modality in a world with emotion in the correlations.
N_COUPLING = 3


def _add_world_extras(seed, params, world):
    """Seed-level draws that only some worlds need, from their own stream (default: none)."""
    rng = _rng(seed, _WORLD_KEY, _EXTRA_WORLD_KEY)
    n_dims = len(EMOTION_DIMS)
    for modality, spec in world["modalities"].items():
        n_feat = N_FEATURES[modality]
        if params.noise_dynamics:
            # Each feature's frame noise grows or shrinks with its own mix of emotion dimensions.
            spec["noise_emotion"] = rng.standard_normal((n_feat, n_dims)) * params.noise_dynamics
        if params.coupling:
            # Feature j loads on a pair of factors at angle base_j + sensitivity_j * phi(emotion):
            # its variance stays put while its correlation with the other features turns.
            spec["coupling"] = {
                "base": rng.uniform(0.0, 2.0 * np.pi, (n_feat, N_COUPLING)),
                "sensitivity": 1.5 * rng.standard_normal((n_feat, N_COUPLING)),
                "direction": rng.standard_normal((N_COUPLING, n_dims)),
                "radius": params.coupling / np.sqrt(N_COUPLING) * spec["norm"],
                # Fast co-fluctuations (tens of ms), so a second shows the correlation.
                "timescales": rng.uniform(0.03, 0.12, 2 * N_COUPLING),
            }
        if params.rectify_share:
            spec["rectified"] = rng.random(n_feat) < params.rectify_share
            spec["threshold"] = rng.uniform(-params.rectify_threshold, params.rectify_threshold, n_feat)
