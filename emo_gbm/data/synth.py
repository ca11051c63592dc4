"""Synthetic challenge data: realistic multimodal emotion recordings in the contract layout.

:func:`generate` writes a dataset laid out exactly as ``docs/data_format.md`` describes
(train / test / private_test, four modality folders, labels, templates, answers, ``meta.csv``).
It stands in for the proprietary challenge data, so its difficulty is calibrated against the
challenge's published figures (``scripts/calibrate_synth.py``).

How a recording is made
-----------------------
* **Labels.** Emotions come in episodes of a few seconds following a Markov chain (Neutral
  most common, actor-specific preferences). Each episode has an intensity; annotator agreement
  grows with it and drops near episode boundaries, quantised to eighths (8 annotators).
* **Emotion latent.** A 6-dimensional trajectory (arousal, valence, dominance and three
  expression dimensions) follows the intensity-scaled prototype of the current emotion, with
  smooth onsets, waxing and waning; some episodes blend in another emotion. Each actor has
  their own version of the prototypes. Voice and body share one expression budget per
  episode (Dirichlet split), and see different dimensions (voice: arousal, disgust, joy; body:
  valence, dominance, fear), so they complement each other; the face sees all of them.
* **Features.** audio, face_nn and kinect mix the emotion latent with slow nuisance factors
  (AR(1) processes whose amplitude and tempo depend on the emotion, so emotion also shows in
  the dynamics), cross-modal nuisance and noise, through low-rank loadings; then per-actor
  gains and offsets, and modality-specific rendering (voicing and speaking turns for audio,
  positive quantities, feature magnitudes like openSMILE's). eyes is a gaze / blink /
  fixation process whose rates depend a little on the emotion.
* **Missing data** is written as zeros as in the real data: silence while the actor listens,
  face-detection drop-outs, Kinect tracking losses, ~10 s blanks in ~40% of files; whole
  files are absent at the real rates.

Every recording draws from its own random generator seeded by ``(seed, recording index)``, so
the files are byte-identical whatever ``n_jobs``.

Worlds
------
The description above is the ``default`` world, the one calibrated against the challenge. A
model tuned on it may only have learned this generator, so :data:`WORLDS` holds other
hypotheses of how real recordings render emotion (``generate(..., world=NAME)``,
``emo-gbm synth --world NAME``; ``docs/worlds.md``): emotion in the variance and tempo or in the
correlations of the features instead of their levels, the voice or the body leading instead of
the face, slow drifts and large per-recording offsets, short or long episodes, annotator errors,
saturating and rectified rendering with emotion x nuisance interactions. A world is a frozen
:class:`World` of parameters overriding the module constants; its extra random draws come from
their own streams, so the default world's files are byte-for-byte what they were before worlds
existed.
"""

import json
import shutil
import time as _time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from joblib import Parallel, delayed
from scipy.signal import lfilter

from emo_gbm.constants import (
    AGREEMENT_COLUMN,
    ANSWERS_DIR,
    EMOTIONS,
    FRAME_RATE,
    LABELS_DIR,
    META_FILE,
    MODALITIES,
    N_FEATURES,
    RATES,
    SPLITS,
    TEMPLATES_DIR,
    TEST_SPLITS,
)
from emo_gbm.metrics import scored_frames

# --------------------------------------------------------------------------- dataset plan

#: Recordings per split at ``scale=1`` (the real data's counts).
SPLIT_SIZES = {"train": 312, "test": 143, "private_test": 126}
#: Fewest recordings per split whatever the scale, so every split has seen and unseen actors.
MIN_PER_SPLIT = 3
N_SESSIONS = 6
ACTORS_PER_SESSION = 2
#: Session recorded only in the test splits: its actors are never seen in training.
HELD_OUT_SESSION = 6
HELD_OUT_SHARE = 0.25
#: Recording length in seconds: log-normal around the real ~40 s, clipped to the real range.
DURATION_MEDIAN, DURATION_SIGMA, DURATION_RANGE = 38.0, 0.35, (11.0, 85.0)
#: The recording clock starts anywhere in [0, CLOCK_START_MAX) seconds.
CLOCK_START_MAX = 120.0

#: Share of recordings lacking each modality file (the real train set: 40, 56, 6, 17 of 312).
ABSENT_RATES = {"audio": 40 / 312, "face_nn": 56 / 312, "eyes": 6 / 312, "kinect": 17 / 312}
#: Share of recordings without any modality file (6 of 312 in the real train set).
NO_MODALITY_RATE = 6 / 312
#: Probability that a written modality file carries the recording's ~10 s blank.
BLANK_FILE_RATE = 0.4
BLANK_SECONDS = (8.0, 12.0)
#: Streams start late / end early by up to this many seconds, each with this probability.
STREAM_SHIFT_MAX, STREAM_SHIFT_PROB = 1.0, 0.35
#: Significant digits written for feature values (openSMILE writes 5).
SIGNIFICANT_DIGITS = 5

# --------------------------------------------------------------------------- emotions

EMOTION_DIMS = ("arousal", "valence", "dominance", "disgust", "fear", "joy")
#: Emotion prototypes in the latent space, rows in the order of EMOTIONS; Neutral is the origin.
PROTOTYPES = np.array(
    [
        [1.0, -0.7, 0.9, 0.2, 0.0, 0.0],  # Anger
        [-0.9, -0.7, -0.6, 0.0, 0.2, 0.0],  # Sad
        [0.1, -0.8, 0.3, 1.0, 0.0, 0.0],  # Disgust
        [0.7, 0.9, 0.4, 0.0, 0.0, 1.0],  # Happy
        [0.8, -0.6, -0.9, 0.0, 1.0, 0.0],  # Scared
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # Neutral
    ]
)
NEUTRAL = EMOTIONS.index("Neutral")
#: Relative frequency of the non-neutral emotions (Anger, Sad, Disgust, Happy, Scared).
EMOTION_WEIGHTS = np.array([1.0, 1.0, 0.8, 1.2, 0.9])
#: Mean probability that an emotional episode is followed by a Neutral one.
BACK_TO_NEUTRAL = 0.25
#: Episode length in seconds: log-normal, clipped.
EPISODE_MEDIAN = {"emotion": 4.0, "neutral": 4.5}
EPISODE_SIGMA, EPISODE_RANGE = 0.45, (1.5, 12.0)
#: Agreement of an episode = base + slope * intensity (+ noise), minus a drop near boundaries.
AGREEMENT_BASE, AGREEMENT_SLOPE, AGREEMENT_NOISE = 0.38, 0.55, 0.07
NEUTRAL_AGREEMENT = 0.65
BOUNDARY_WIDTH, BOUNDARY_DROP = 0.8, 0.3
N_ANNOTATORS = 8
#: Dirichlet concentration of the split of an episode's expression between voice and body
#: (lower: more uneven, so the two complement each other more).
EXPRESSION_CONCENTRATION = 0.2
#: Share of episodes whose expression is blended with another emotion, the largest blend
#: weight, and how strongly a Neutral episode leaks the other emotion.
BLEND_PROB, BLEND_MAX, NEUTRAL_LEAK = 0.1, 0.6, 0.5
#: Time constant (s) of expression onsets and offsets.
ONSET_TAU = 0.35

# --------------------------------------------------------------------------- modalities

_AUDIO = [  # name, location, scale, positive (log-normal), value when unvoiced (None: voiced or not)
    ("Loudness_sma3", 0.95, 0.75, True, None),
    ("alphaRatio_sma3", -10.7, 12.5, False, None),
    ("hammarbergIndex_sma3", 20.3, 13.4, False, None),
    ("slope0-500_sma3", 0.0062, 0.0434, False, None),
    ("slope500-1500_sma3", -0.0012, 0.0192, False, None),
    ("spectralFlux_sma3", 0.60, 0.58, True, None),
    ("mfcc1_sma3", 15.0, 18.4, False, None),
    ("mfcc2_sma3", 3.9, 17.6, False, None),
    ("mfcc3_sma3", 13.0, 17.2, False, None),
    ("mfcc4_sma3", -2.8, 17.0, False, None),
    ("F0semitoneFrom27.5Hz_sma3nz", 33.5, 5.0, True, 0.0),
    ("jitterLocal_sma3nz", 0.03, 0.04, True, 0.0),
    ("shimmerLocaldB_sma3nz", 1.3, 1.0, True, 0.0),
    ("HNRdBACF_sma3nz", 6.5, 4.5, False, 0.0),
    ("logRelF0-H1-H2_sma3nz", 7.6, 8.0, False, 0.0),
    ("logRelF0-H1-A3_sma3nz", 19.9, 12.0, False, 0.0),
    ("F1frequency_sma3nz", 720.0, 255.0, True, None),
    ("F1bandwidth_sma3nz", 1263.0, 293.0, True, None),
    ("F1amplitudeLogRelF0_sma3nz", -60.0, 40.0, False, -201.0),
    ("F2frequency_sma3nz", 1745.0, 272.0, True, None),
    ("F2amplitudeLogRelF0_sma3nz", -65.0, 40.0, False, -201.0),
    ("F3frequency_sma3nz", 2761.0, 270.0, True, None),
    ("F3amplitudeLogRelF0_sma3nz", -68.0, 38.0, False, -201.0),
    ("mfcc0", 126.8, 24.0, False, None),
    ("mfcc1", -11.4, 19.0, False, None),
    ("mfcc2", -5.8, 18.4, False, None),
    ("mfcc3", 4.0, 17.7, False, None),
    ("mfcc4", -9.8, 17.5, False, None),
    ("mfcc5", -6.3, 20.4, False, None),
    ("mfcc6", -11.2, 20.0, False, None),
    ("mfcc7", -10.4, 17.3, False, None),
    ("mfcc8", -10.0, 19.3, False, None),
    ("mfcc9", -1.0, 18.4, False, None),
    ("mfcc10", -3.1, 16.0, False, None),
    ("mfcc11", -3.1, 16.1, False, None),
    ("mfcc12", -5.1, 15.2, False, None),
]
_KINECT = [  # name, location, scale, positive
    ("dist_hands", 0.45, 0.12, True),
    ("dist_handL_head", 0.55, 0.10, True),
    ("dist_handR_head", 0.55, 0.10, True),
    ("dist_handL_hip", 0.25, 0.08, True),
    ("dist_handR_hip", 0.25, 0.08, True),
    ("dist_head_spine", 0.32, 0.03, True),
    ("vel_handL", 0.18, 0.15, True),
    ("vel_handR", 0.18, 0.15, True),
    ("vel_head", 0.05, 0.04, True),
    ("vel_spine", 0.03, 0.025, True),
    ("acc_handL", 1.1, 1.0, True),
    ("acc_handR", 1.1, 1.0, True),
    ("acc_head", 0.35, 0.3, True),
    ("acc_spine", 0.2, 0.18, True),
    ("jerk_handL", 14.0, 13.0, True),
    ("jerk_handR", 14.0, 13.0, True),
    ("jerk_head", 4.5, 4.0, True),
    ("jerk_spine", 2.5, 2.2, True),
    ("smoothness_handL", -4.0, 1.2, False),
    ("smoothness_handR", -4.0, 1.2, False),
    ("curvature_handL", 6.0, 5.0, True),
    ("curvature_handR", 6.0, 5.0, True),
    ("density", 0.12, 0.04, True),
    ("symmetry_hands_x", 0.0, 0.08, False),
    ("symmetry_hands_y", 0.0, 0.06, False),
    ("lean_forward", 0.02, 0.05, False),
    ("kinetic_energy", 2.0, 2.2, True),
]
FACE_SCALES = 6.0 * (1.0 + np.arange(N_FEATURES["face_nn"])) ** -0.45

#: First line of each modality file: a header (audio, kinect) or an export line that is
#: not data (eyes, face_nn).
_FIRST_LINES = {
    "audio": "Time," + ",".join(name for name, *_ in _AUDIO),
    "kinect": "Time," + ",".join(name for name, *_ in _KINECT),
    "face_nn": "timestamp," + ",".join(f"vgg16_pca_{k + 1}" for k in range(N_FEATURES["face_nn"])),
    "eyes": "timestamp,left_x,left_y,right_x,right_y,eyes_open,fixation",
}

#: Mixing of the emotion latent into the generic modalities. ``visibility`` weights the emotion
#: dimensions each modality sees; ``emotion``, ``nuisance``, ``shared``, ``noise`` are the
#: relative strengths of the signal, of the modality's slow nuisance factors, of the cross-modal
#: nuisance and of frame noise; ``dynamics`` / ``tempo`` how much the emotion changes the
#: amplitude / speed of the nuisance factors; ``actor_*`` the spread between actors.
MIXING = {
    "audio": dict(
        visibility=[1.0, 0.1, 0.1, 1.0, 0.1, 1.0], emotion=0.38, nuisance=1.0, n_nuisance=5,
        shared=0.4, noise=0.9, noise_rho=0.5, dynamics=0.25, tempo=0.2, timescale=(0.4, 2.5),
        actor_offset=0.5, actor_gain=0.15, actor_loading=0.3, recording_offset=0.25,
    ),
    "face_nn": dict(
        visibility=[0.5, 1.0, 0.4, 1.0, 1.0, 1.0], emotion=0.28, nuisance=1.0, n_nuisance=6,
        shared=0.4, noise=0.7, noise_rho=0.3, dynamics=0.4, tempo=0.2, timescale=(0.5, 3.0),
        actor_offset=0.8, actor_gain=0.15, actor_loading=0.5, recording_offset=0.25,
    ),
    "kinect": dict(
        visibility=[0.1, 1.0, 1.0, 0.1, 1.0, 0.1], emotion=0.37, nuisance=1.0, n_nuisance=4,
        shared=0.4, noise=0.6, noise_rho=0.6, dynamics=0.3, tempo=0.3, timescale=(0.5, 3.0),
        actor_offset=0.5, actor_gain=0.15, actor_loading=0.3, recording_offset=0.25,
    ),
}
N_SHARED = 3
#: Nominal variance of an emotion-latent dimension, used to normalise features to unit scale.
_LATENT_VARIANCE = 0.25

#: Eyes: per-second rates and gaze geometry; ``*_emotion`` are the (small) effects of the
#: emotion latent on log-rates and on the gaze centre / spread.
EYES = dict(
    blink_rate=0.3, blink_frames=(10, 25), saccade_rate=2.5, saccade_frames=(2, 5),
    gaze_spread=0.08, tremor=0.004, vergence=0.06,
    blink_emotion=[0.25, 0.0, 0.0, 0.1, 0.2, 0.0],
    saccade_emotion=[0.2, 0.0, -0.1, 0.0, 0.25, 0.0],
    gaze_y_emotion=[0.0, 0.02, 0.02, 0.0, 0.0, 0.0],
    spread_emotion=[0.15, 0.0, 0.0, 0.0, 0.15, 0.0],
    actor_rate=0.3, actor_gaze=0.05,
)

#: Speaking turns (audio exists only while the actor speaks) and pauses within them.
SPEAK_MEDIAN, LISTEN_MEDIAN, TURN_SIGMA = 4.0, 2.0, 0.6
PAUSE_RATE, PAUSE_SECONDS = 0.4, (0.1, 0.4)
SYLLABLE_RATE = 4.5
#: Face-detection drop-outs and Kinect tracking losses: events per second, median length (s).
FACE_DROPOUT_RATE, FACE_DROPOUT_MEDIAN = 0.08, 0.4
KINECT_LOSS_RATE, KINECT_LOSS_MEDIAN = 0.01, 1.0
#: Eyes and face_nn steps in frames (0.02-0.04 s), with their probabilities.
JITTER_STEPS, JITTER_PROBS = (2, 3, 4), (0.86, 0.05, 0.09)
KINECT_STEP_MS = 67

_WORLD_KEY, _RECORDING_KEY, _PLAN_KEY = 11, 12, 13
_MODALITY_KEYS = {m: 100 + i for i, m in enumerate(MODALITIES)}
#: Keys of the random streams that only non-default worlds draw from (appended to the keys
#: above), so that the default world's streams stay exactly as they were.
_EXTRA_WORLD_KEY, _LABEL_NOISE_KEY, _DRIFT_KEY, _COUPLING_KEY = 1, 2, 3, 4
#: Written into the dataset root: which world, seed and scale made it.
SYNTH_FILE = "synth.json"

# --------------------------------------------------------------------------- worlds


@dataclass(frozen=True)
class World:
    """One hypothesis about how recordings render emotion: plain overrides of the module constants.

    The defaults are the module constants, so ``World("default")`` is the generator as it was
    before worlds existed (byte-identical files). Every other field is off (0 / None) by default
    and only drawn from when a world turns it on.

    Parameters
    ----------
    name, summary : str
        Name (``--world``) and a one-line description.
    episode_median : tuple of float
        Median episode seconds of (emotional, neutral) episodes.
    episode_sigma : float
        Log-normal sigma of episode lengths.
    episode_range : tuple of float
        Clip range of episode seconds.
    boundary_width : float
        Seconds around an episode boundary over which agreement drops.
    label_noise : float
        Share of episodes whose written label is another emotion than the one shown (annotator
        error: the expression stays).
    label_noise_agreement : float
        Agreement lost by such an episode.
    budget : tuple of str
        Modalities that split one expression budget per episode (Dirichlet); the others always
        show the full expression.
    expression_concentration : float
        Dirichlet concentration of that split.
    mixing : dict
        Per modality, overrides of :data:`MIXING` (e.g. ``{"audio": {"emotion": 0.6}}``).
    tempo_weights : tuple of float or None
        Emotion dimensions that speed up the nuisance factors' clock; None: arousal only.
    noise_dynamics : float
        Strength with which the emotion scales each feature's frame-noise amplitude.
    coupling : float
        Strength of emotion-steered correlations between features (constant marginal variance).
    drift, drift_timescale : float
        Amplitude and time constant (s) of slow within-recording drifts (low rank, per recording).
    saturation : float
        Gain of a tanh saturation of the unit-scale features (0: linear).
    interaction : float
        How strongly a slow nuisance factor scales the amplitude of the expression.
    rectify_share, rectify_threshold : float
        Share of features rectified as ``max(z - t, 0)``, thresholds ``t`` uniform in
        ``(-rectify_threshold, rectify_threshold)``.
    """

    name: str
    summary: str = ""
    episode_median: tuple = (EPISODE_MEDIAN["emotion"], EPISODE_MEDIAN["neutral"])
    episode_sigma: float = EPISODE_SIGMA
    episode_range: tuple = EPISODE_RANGE
    boundary_width: float = BOUNDARY_WIDTH
    label_noise: float = 0.0
    label_noise_agreement: float = 0.0
    budget: tuple = ("audio", "kinect")
    expression_concentration: float = EXPRESSION_CONCENTRATION
    mixing: dict = field(default_factory=dict)
    tempo_weights: tuple = None
    noise_dynamics: float = 0.0
    coupling: float = 0.0
    drift: float = 0.0
    drift_timescale: float = 30.0
    saturation: float = 0.0
    interaction: float = 0.0
    rectify_share: float = 0.0
    rectify_threshold: float = 0.0

    def mixing_of(self, modality):
        """:data:`MIXING` of ``modality`` with this world's overrides."""
        return {**MIXING[modality], **self.mixing.get(modality, {})}


def _even(**overrides):
    """The same mixing overrides for every generic modality."""
    return {m: dict(overrides) for m in MIXING}


#: The named worlds. Each is a different hypothesis about real recordings, not a reseed.
WORLDS = {
    world.name: world
    for world in (
        World("default", "emotion in feature levels, face-led, actor and recording offsets, 1.5-12 s episodes"),
        World(
            "voice_led",
            "the voice carries the emotion, the face little; per-actor offsets only; long 4-10 s episodes",
            episode_median=(6.0, 6.5), episode_sigma=0.35, episode_range=(4.0, 10.0),
            budget=("face_nn", "kinect"),
            mixing={
                "audio": dict(visibility=[1.0, 0.6, 0.6, 1.0, 1.0, 1.0], emotion=0.55, recording_offset=0.0,
                              actor_offset=0.7),
                "face_nn": dict(emotion=0.12, recording_offset=0.0, actor_offset=1.0),
                "kinect": dict(emotion=0.25, recording_offset=0.0, actor_offset=0.7),
            },
        ),
        World(
            "dynamics",
            "emotion in the variance and tempo of the features, small level shifts; evenly spread",
            budget=(), tempo_weights=(1.0, -0.4, 0.4, 0.6, 1.0, -0.3), noise_dynamics=1.0,
            mixing=_even(visibility=[1.0] * 6, emotion=0.1, dynamics=1.0, tempo=0.7),
        ),
        World(
            "drift",
            "slow within-recording drifts and large per-recording offsets; short 1-3 s episodes",
            episode_median=(2.0, 2.2), episode_sigma=0.35, episode_range=(1.0, 3.0), boundary_width=0.4,
            drift=1.0, drift_timescale=20.0,
            mixing=_even(recording_offset=0.9),
        ),
        World(
            "nonlinear",
            "saturating, rectified rendering; a nuisance factor scales the expression; evenly spread",
            budget=(), saturation=0.8, interaction=0.6, rectify_share=0.4, rectify_threshold=0.5,
            mixing=_even(visibility=[1.0] * 6, emotion=0.3, dynamics=0.6),
        ),
        World(
            "noisy_labels",
            "15% of episodes mislabelled by the annotators; short 1-3 s episodes; body-led",
            episode_median=(2.0, 2.2), episode_sigma=0.35, episode_range=(1.0, 3.0), boundary_width=0.4,
            label_noise=0.15, label_noise_agreement=0.05, budget=("audio", "face_nn"),
            mixing={
                "kinect": dict(visibility=[1.0, 1.0, 1.0, 0.6, 1.0, 0.6], emotion=0.5),
                "face_nn": dict(emotion=0.18),
            },
        ),
        World(
            "coupled",
            "emotion in the correlations between features, small level shifts; evenly spread; long episodes",
            episode_median=(6.0, 6.5), episode_sigma=0.35, episode_range=(4.0, 10.0),
            budget=(), coupling=1.2,
            mixing=_even(visibility=[1.0] * 6, emotion=0.18),
        ),
    )
}


def get_world(world):
    """The :class:`World` named ``world`` (a World passes through).

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.

    Examples
    --------
    >>> get_world("default").episode_range == EPISODE_RANGE
    True
    """
    if isinstance(world, World):
        return world
    if world not in WORLDS:
        raise ValueError(f"unknown synthetic world {world!r}; known worlds: {', '.join(WORLDS)}")
    return WORLDS[world]


# --------------------------------------------------------------------------- helpers


def _rng(*key):
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in key]))


def _ar1(rng, n, timescales, rate=FRAME_RATE):
    """Unit-variance stationary AR(1) columns with the given time constants (seconds)."""
    timescales = np.atleast_1d(np.asarray(timescales, dtype=np.float64))
    out = rng.standard_normal((n, timescales.size))
    for tau in np.unique(timescales):
        columns = timescales == tau
        rho = np.exp(-1.0 / (tau * rate))
        gain = np.sqrt(1.0 - rho * rho)
        block = out[:, columns]
        block[0] /= gain  # start in the stationary distribution
        out[:, columns] = lfilter([gain], [1.0, -rho], block, axis=0)
    return out


def _smooth(x, tau, rate=FRAME_RATE):
    """Zero-phase one-pole low-pass along axis 0 (forward then backward pass)."""
    alpha = 1.0 - np.exp(-1.0 / (tau * rate))
    b, a = [alpha], [1.0, alpha - 1.0]
    y = lfilter(b, a, x, axis=0, zi=(1.0 - alpha) * x[:1])[0]
    y = lfilter(b, a, y[::-1], axis=0, zi=(1.0 - alpha) * y[-1:])[0]
    return y[::-1]


def _runs_mask(n, onsets, lengths):
    """Boolean mask of the frames covered by runs starting at ``onsets``."""
    edges = np.zeros(n + 1, dtype=np.int64)
    np.add.at(edges, np.clip(onsets, 0, n), 1)
    np.add.at(edges, np.clip(onsets + lengths, 0, n), -1)
    return np.cumsum(edges[:-1]) > 0


def _poisson_runs(rng, n, rate, median_seconds, sigma=0.6, bounds=(0.1, 3.0)):
    """Mask of random runs (events per second ``rate``, log-normal lengths)."""
    onsets = np.flatnonzero(rng.random(n) < rate / FRAME_RATE)
    seconds = np.clip(rng.lognormal(np.log(median_seconds), sigma, onsets.size), *bounds)
    return _runs_mask(n, onsets, np.round(seconds * FRAME_RATE).astype(np.int64))


def _alternating_mask(rng, n, on_median, off_median, sigma):
    """Alternating on/off runs with log-normal lengths (seconds); returns the 'on' mask."""
    state = rng.random() < on_median / (on_median + off_median)
    mask = np.zeros(n, dtype=bool)
    pos = -int(rng.random() * on_median * FRAME_RATE)  # start inside a run
    while pos < n:
        length = int(rng.lognormal(np.log(on_median if state else off_median), sigma) * FRAME_RATE) + 1
        if state:
            mask[max(pos, 0) : pos + length] = True
        pos += length
        state = not state
    return mask


def _round_significant(x, digits=SIGNIFICANT_DIGITS):
    """Round to ``digits`` significant digits so the shortest decimal form is short."""
    x = np.asarray(x, dtype=np.float64)
    magnitude = np.abs(x)
    exponent = np.floor(np.log10(np.where(magnitude > 0, magnitude, 1.0))).astype(np.int64)
    shift = digits - 1 - exponent
    # Dividing (or multiplying) by an exact power of ten gives the double nearest to the
    # decimal, which pyarrow then prints in its shortest form.
    up = 10.0 ** np.clip(shift, 0, None)
    down = 10.0 ** np.clip(-shift, 0, None)
    mantissa = np.round(x * up / down)
    return mantissa / up * down + 0.0  # + 0.0 turns -0 into 0


def _time_strings(units, decimals):
    """Decimal strings of integer times counted in 10**-decimals seconds (e.g. 4327 -> '43.27')."""
    units = np.asarray(units, dtype=np.int64)
    scale = 10**decimals
    whole = pc.cast(pa.array(units // scale), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(units % scale), pa.string()), decimals, "0")
    return pc.binary_join_element_wise(whole, frac, ".")


def _write_csv(path, first_line, columns):
    """Write ``first_line`` then the rows of ``columns`` (pyarrow arrays / numpy vectors)."""
    table = pa.table({f"c{i}": col for i, col in enumerate(columns)})
    with open(path, "wb") as sink:
        sink.write((first_line + "\n").encode("utf-8"))
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))


# --------------------------------------------------------------------------- world and plan


def _make_world(seed, name="default"):
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


# --------------------------------------------------------------------------- labels


def _episodes(rng, gate_rng, n, actor, params=None, noise_rng=None):
    """Frame labels, shown expression, agreement and per-modality expression gates of one recording.

    ``gate_rng`` draws only the gates, so that tuning their distribution leaves the labels alone;
    ``noise_rng`` only the annotator errors of a world with label noise. ``params`` is the
    :class:`World` (default: the default world).
    """
    params = WORLDS["default"] if params is None else params
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


# --------------------------------------------------------------------------- streams


def _sample_frames(rng, modality, n):
    """Frame index of every sample, and its time as decimal units (and the decimals)."""
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


def _render_audio(rng, world, actor, latent, shared, frames, n):
    z = _mixed(rng, "audio", world, actor, latent, shared, frames)
    speaking = _alternating_mask(rng, n, actor["speak_median"], LISTEN_MEDIAN, TURN_SIGMA)
    speaking &= ~_poisson_runs(rng, n, PAUSE_RATE, np.mean(PAUSE_SECONDS), 0.4, PAUSE_SECONDS)
    # Syllables: voicing alternates at a rate that rises with arousal.
    rate = actor["syllable_rate"] * np.exp(0.2 * latent[:, 0])
    phase = 2 * np.pi * np.cumsum(rate) / FRAME_RATE + 0.8 * _ar1(rng, n, 0.5)[:, 0]
    syllable = np.sin(phase)
    voiced = (syllable > -0.1)[frames]
    values = np.empty_like(z)
    for j, (_, loc, scale, positive, unvoiced) in enumerate(_AUDIO):
        values[:, j] = _to_scale(z[:, j], loc, scale, positive)
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
    z = _mixed(rng, "kinect", world, actor, latent, shared, frames)
    values = np.empty_like(z)
    for j, (_, loc, scale, positive) in enumerate(_KINECT):
        values[:, j] = _to_scale(z[:, j], loc, scale, positive)
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


def simulate_recording(plan, seed, world=None):
    """Simulate one planned recording in memory (no files).

    Parameters
    ----------
    plan : dict
        One entry of the dataset plan (see :func:`generate`'s ``meta.csv``): ``index``, ``id``,
        ``split``, ``session``, ``actor``, ``n_frames``, ``start``, ``absent``.
    seed : int
        The dataset seed.
    world : dict, str or World, optional
        The seed's world parameters (from ``_make_world``), or a world name / :class:`World` to
        build them from; the default world when omitted.

    Returns
    -------
    dict
        ``labels`` (n_frames,) int8, ``agreement`` (n_frames,), ``streams``: modality ->
        (sample frame indices, time units or None, values), for the files that exist, and
        ``blanked``: the modalities carrying the ~10 s blank.

    Examples
    --------
    >>> plan = _plan(0, 0.01)[0]
    >>> rec = simulate_recording(plan, 0)
    >>> rec["labels"].shape == (plan["n_frames"],)
    True
    """
    if world is None or isinstance(world, (str, World)):
        world = _make_world(seed, "default" if world is None else world)
    params = world["params"]
    rng = _rng(seed, _RECORDING_KEY, plan["index"])
    actor = world["actors"][plan["actor"] - 1]
    n = plan["n_frames"]
    noise_rng = _rng(seed, _RECORDING_KEY, plan["index"], _LABEL_NOISE_KEY) if params.label_noise else None
    labels, expression, agreement, gates = _episodes(
        rng, _rng(seed, _RECORDING_KEY, plan["index"], 1), n, actor, params, noise_rng
    )
    latents = _emotion_latents(rng, expression, gates)
    shared = _ar1(rng, n, world["shared_timescales"])
    blank_len = int(min(rng.uniform(*BLANK_SECONDS), 0.6 * n / FRAME_RATE) * FRAME_RATE)
    blank_start = int(rng.integers(0, n - blank_len + 1))
    blank_draw = rng.random(len(MODALITIES))
    streams, blanked = {}, []
    for k, modality in enumerate(MODALITIES):
        if modality in plan["absent"]:
            continue
        m_rng = _rng(seed, _RECORDING_KEY, plan["index"], _MODALITY_KEYS[modality])
        frames, units = _sample_frames(m_rng, modality, n)
        values = _RENDERERS[modality](m_rng, world, actor, latents[modality], shared, frames, n)
        if blank_draw[k] < BLANK_FILE_RATE:
            values[(frames >= blank_start) & (frames < blank_start + blank_len)] = 0.0
            blanked.append(modality)
        streams[modality] = (frames, units, values)
    return {"labels": labels, "agreement": agreement, "streams": streams, "blanked": blanked}


# --------------------------------------------------------------------------- writing


def _label_columns(time_strings, labels, agreement=None):
    onehot = [pa.array((labels == k).astype(np.int8)) for k in range(len(EMOTIONS))]
    return [time_strings] + onehot + ([agreement] if agreement is not None else [])


def _write_recording(plan, seed, world, out_dir):
    rec = simulate_recording(plan, seed, world)
    out_dir = Path(out_dir)
    split, name = plan["split"], plan["id"] + ".csv"
    n = plan["n_frames"]
    grid = _time_strings(plan["start"] + np.arange(n), 2)
    label_header = ",".join(("Time",) + EMOTIONS + (AGREEMENT_COLUMN,))
    if split == "train":
        _write_csv(out_dir / split / LABELS_DIR / name, label_header,
                   _label_columns(grid, rec["labels"], rec["agreement"]))
    else:
        zeros = np.zeros(n, dtype=np.int8)
        _write_csv(out_dir / split / TEMPLATES_DIR / name, ",".join(("Time",) + EMOTIONS), [grid] + [zeros] * 6)
        _write_csv(out_dir / ANSWERS_DIR / split / name, label_header,
                   _label_columns(grid, rec["labels"], rec["agreement"]))
    zero_cells, cells = {}, {}
    for modality, (frames, units, values) in rec["streams"].items():
        if units is None:
            times = _time_strings(plan["start"] + frames, 2)
        else:
            times = _time_strings(plan["start"] * 10 + units, 3)
        values = _round_significant(values)
        _write_csv(out_dir / split / modality / name, _FIRST_LINES[modality], [times] + list(values.T))
        zero_cells[modality] = int(np.count_nonzero(values == 0))
        cells[modality] = int(values.size)
    return {
        "split": split,
        "frames": n,
        "scored": int(np.count_nonzero(scored_frames(rec["agreement"]))),
        "class_frames": np.bincount(rec["labels"], minlength=len(EMOTIONS)).tolist(),
        "label_changes": int(np.count_nonzero(np.diff(rec["labels"]))),
        "zero_cells": zero_cells,
        "cells": cells,
        "blanked": rec["blanked"],
        "absent": list(plan["absent"]),
    }


def _prepare(out_dir):
    """Create the folders; clear a previous synthetic dataset, never anything else."""
    out_dir = Path(out_dir)
    managed = [out_dir / s for s in SPLITS] + [out_dir / ANSWERS_DIR, out_dir / META_FILE, out_dir / SYNTH_FILE]
    if any(p.exists() for p in managed):
        if not (out_dir / META_FILE).is_file():
            raise FileExistsError(
                f"{out_dir} holds a dataset without {META_FILE} (real data?); refusing to overwrite it"
            )
        for path in managed:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    for split in SPLITS:
        for modality in MODALITIES:
            (out_dir / split / modality).mkdir(parents=True, exist_ok=True)
        (out_dir / split / (LABELS_DIR if split == "train" else TEMPLATES_DIR)).mkdir(exist_ok=True)
    for split in TEST_SPLITS:
        (out_dir / ANSWERS_DIR / split).mkdir(parents=True, exist_ok=True)


def generate(out_dir, seed=0, scale=1.0, n_jobs=1, progress=False, world="default"):
    """Write a synthetic dataset in the challenge layout.

    Writes ``{train,test,private_test}/{audio,face_nn,eyes,kinect}/<id>.csv``,
    ``train/labels``, the all-zero ``prediction`` templates of the test splits, their
    ``answers``, ``meta.csv`` (``id,split,session,actor``) and ``synth.json`` (world, seed,
    scale). A previous synthetic dataset in ``out_dir`` (recognised by its ``meta.csv``) is
    replaced; any other dataset there is refused.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Dataset root to write.
    seed : int, default=0
        Everything (ids, actors, signals) derives from it; the same seed gives byte-identical files.
    scale : float, default=1.0
        Multiplies the real recording counts (312 / 143 / 126); at least 3 per split.
    n_jobs : int, default=1
        joblib workers over recordings; the output does not depend on it.
    progress : bool, default=False
        Show a tqdm progress bar.
    world : str or World, default="default"
        Which hypothesis of how recordings render emotion (a key of :data:`WORLDS`, see
        ``docs/worlds.md``). ``"default"`` is the calibrated generator.

    Returns
    -------
    dict
        Summary: ``recordings`` and ``frames`` per split, ``zero_fraction`` (of all written
        feature cells) overall and ``zero_fraction_by_modality``, ``absent_files`` and
        ``absent_rate`` per modality, ``no_modality_files``, ``blank_file_share``,
        ``agreement_above_threshold`` (share of frames), ``class_shares``,
        ``mean_episode_seconds``, ``bytes``, ``seconds`` and ``world``.

    Raises
    ------
    ValueError
        For an unknown world (the message lists the known ones) or a non-positive scale.

    Examples
    --------
    >>> import tempfile
    >>> summary = generate(tempfile.mkdtemp(), seed=1, scale=0.01)
    >>> summary["recordings"]
    {'train': 3, 'test': 3, 'private_test': 3}
    """
    started = _time.perf_counter()
    params = get_world(world)
    out_dir = Path(out_dir)
    plans = _plan(seed, scale)
    world = _make_world(seed, params)
    _prepare(out_dir)
    tasks = (delayed(_write_recording)(plan, seed, world, out_dir) for plan in plans)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
    if progress:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(plans), desc="synthesising", unit="rec")
    results = list(results)
    with open(out_dir / META_FILE, "w", encoding="utf-8", newline="\n") as meta:
        meta.write("id,split,session,actor\n")
        for plan in plans:
            meta.write(f"{plan['id']},{plan['split']},{plan['session']},{plan['actor']}\n")
    # The world goes beside meta.csv, not into it: meta.csv's columns are fixed.
    with open(out_dir / SYNTH_FILE, "w", encoding="utf-8", newline="\n") as info:
        info.write(json.dumps({"world": params.name, "seed": seed, "scale": scale}, sort_keys=True) + "\n")
    summary = _summary(plans, results, out_dir, seed, scale, _time.perf_counter() - started)
    return {**summary, "world": params.name}


def _summary(plans, results, out_dir, seed, scale, seconds):
    frames = sum(r["frames"] for r in results)
    zero = {m: sum(r["zero_cells"].get(m, 0) for r in results) for m in MODALITIES}
    cells = {m: sum(r["cells"].get(m, 0) for r in results) for m in MODALITIES}
    absent = {m: sum(m in r["absent"] for r in results) for m in MODALITIES}
    written = sum(len(r["cells"]) for r in results)
    class_frames = np.sum([r["class_frames"] for r in results], axis=0)
    n_bytes = sum(f.stat().st_size for f in Path(out_dir).rglob("*.csv"))
    episodes = sum(r["label_changes"] + 1 for r in results)
    return {
        "seed": seed,
        "scale": scale,
        "recordings": {s: sum(r["split"] == s for r in results) for s in SPLITS},
        "frames": {s: sum(r["frames"] for r in results if r["split"] == s) for s in SPLITS},
        "hours": round(frames / FRAME_RATE / 3600, 3),
        "zero_fraction": round(sum(zero.values()) / max(sum(cells.values()), 1), 4),
        "zero_fraction_by_modality": {m: round(zero[m] / max(cells[m], 1), 4) for m in MODALITIES},
        "absent_files": absent,
        "absent_rate": {m: round(absent[m] / len(results), 4) for m in MODALITIES},
        "no_modality_files": sum(len(r["absent"]) == len(MODALITIES) for r in results),
        "blank_file_share": round(sum(len(r["blanked"]) for r in results) / max(written, 1), 4),
        "agreement_above_threshold": round(sum(r["scored"] for r in results) / frames, 4),
        "class_shares": {e: round(float(c) / frames, 4) for e, c in zip(EMOTIONS, class_frames)},
        "mean_episode_seconds": round(frames / FRAME_RATE / max(episodes, 1), 2),
        "bytes": n_bytes,
        "seconds": round(seconds, 1),
    }
