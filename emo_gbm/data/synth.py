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
:class:`World` of parameters overriding the generator's constants; its extra random draws come from
their own streams, so the default world's files are byte-for-byte what they were before worlds
existed.

Modules
-------
This module holds the public names; the generator lives in private modules with one job each:
:mod:`~emo_gbm.data._synth_constants` (the calibrated constants), :mod:`~emo_gbm.data._worlds`
(:class:`World`, :data:`WORLDS`), :mod:`~emo_gbm.data._signals` (random signal building blocks),
:mod:`~emo_gbm.data._world_draws` (loadings and actors of a seed), :mod:`~emo_gbm.data._synth_plan`
(the recordings of a dataset), :mod:`~emo_gbm.data._episodes` (labels and expression),
:mod:`~emo_gbm.data._render` (feature streams), :mod:`~emo_gbm.data._simulate`
(:func:`simulate_recording`) and :mod:`~emo_gbm.data._generator` (:func:`generate`, the files).
"""

from emo_gbm.data._generator import generate
from emo_gbm.data._simulate import simulate_recording
from emo_gbm.data._synth_constants import (
    BOUNDARY_WIDTH,
    EPISODE_MEDIAN,
    EPISODE_RANGE,
    EPISODE_SIGMA,
    EXPRESSION_CONCENTRATION,
    FACE_SCALES,
    MIXING,
    SPLIT_SIZES,
    SYNTH_FILE,
)
from emo_gbm.data._worlds import WORLDS, World, get_world

__all__ = [
    "BOUNDARY_WIDTH",
    "EPISODE_MEDIAN",
    "EPISODE_RANGE",
    "EPISODE_SIGMA",
    "EXPRESSION_CONCENTRATION",
    "FACE_SCALES",
    "MIXING",
    "SPLIT_SIZES",
    "SYNTH_FILE",
    "WORLDS",
    "World",
    "generate",
    "get_world",
    "simulate_recording",
]
