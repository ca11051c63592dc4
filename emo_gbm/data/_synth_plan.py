"""The dataset plan of a seed and scale: one entry per recording (id, split, session, actor, length...)."""

import numpy as np

from emo_gbm.constants import FRAME_RATE, MODALITIES, SPLITS
from emo_gbm.data._signals import _rng
from emo_gbm.data._synth_constants import (
    _PLAN_KEY,
    ABSENT_RATES,
    ACTORS_PER_SESSION,
    CLOCK_START_MAX,
    DURATION_MEDIAN,
    DURATION_RANGE,
    DURATION_SIGMA,
    HELD_OUT_SESSION,
    HELD_OUT_SHARE,
    MIN_PER_SPLIT,
    NO_MODALITY_RATE,
    SPLIT_SIZES,
)


def _split_counts(scale):
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    return {split: max(MIN_PER_SPLIT, int(round(SPLIT_SIZES[split] * scale))) for split in SPLITS}


def _choose(rng, candidates, count):
    count = int(min(max(count, 0), len(candidates)))
    return set(rng.choice(candidates, size=count, replace=False).tolist()) if count else set()


def _plan(seed, scale):
    """One entry per recording: id, split, session, actor, length, clock start, absent files."""
    rng = _rng(seed, _PLAN_KEY)
    counts = _split_counts(scale)
    total = sum(counts.values())
    ids = rng.choice(2**32, size=total, replace=False)
    plans = []
    for split in SPLITS:
        n = counts[split]
        if split == "train":
            sessions = np.resize(np.arange(1, HELD_OUT_SESSION), n)
        else:
            n_held = max(1, int(round(HELD_OUT_SHARE * n)))
            sessions = np.concatenate(
                [np.full(n_held, HELD_OUT_SESSION), np.resize(np.arange(1, HELD_OUT_SESSION), n - n_held)]
            )
        sessions = rng.permutation(sessions)
        actors = (sessions - 1) * ACTORS_PER_SESSION + 1 + rng.integers(0, ACTORS_PER_SESSION, n)
        seconds = np.clip(rng.lognormal(np.log(DURATION_MEDIAN), DURATION_SIGMA, n), *DURATION_RANGE)
        starts = rng.integers(0, int(CLOCK_START_MAX * FRAME_RATE), n)
        # Exact counts per split keep the absent-file rates at the real ones at any scale.
        everyone = np.arange(n)
        no_files = _choose(rng, everyone, round(NO_MODALITY_RATE * n))
        rest = np.array([i for i in everyone if i not in no_files], dtype=np.int64)
        absent = {m: no_files | _choose(rng, rest, round(ABSENT_RATES[m] * n) - len(no_files)) for m in MODALITIES}
        for i in range(n):
            plans.append(
                {
                    "index": len(plans),
                    "id": f"id{int(ids[len(plans)]):08x}",
                    "split": split,
                    "session": int(sessions[i]),
                    "actor": int(actors[i]),
                    "n_frames": int(round(seconds[i] * FRAME_RATE)),
                    "start": int(starts[i]),
                    "absent": tuple(m for m in MODALITIES if i in absent[m]),
                }
            )
    return plans
