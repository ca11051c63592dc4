"""The synthetic generator's calibrated constants: dataset plan, emotions, modalities, random streams.

The ``default`` world uses them as they are; a :class:`~emo_gbm.data._worlds.World` overrides
some of them.
"""

import numpy as np

from emo_gbm.constants import EMOTIONS, MODALITIES, N_FEATURES

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
_EXTRA_WORLD_KEY, _LABEL_NOISE_KEY = 1, 2
#: Written into the dataset root: which world, seed and scale made it.
SYNTH_FILE = "synth.json"
