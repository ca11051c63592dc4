"""The synthetic worlds: hypotheses of how recordings render emotion, as overrides of the constants."""

from dataclasses import dataclass, field

from emo_gbm.data._synth_constants import (
    BOUNDARY_WIDTH,
    EPISODE_MEDIAN,
    EPISODE_RANGE,
    EPISODE_SIGMA,
    EXPRESSION_CONCENTRATION,
    MIXING,
)


@dataclass(frozen=True)
class World:
    """One hypothesis about how recordings render emotion: plain overrides of the generator's constants.

    The defaults are the constants of :mod:`emo_gbm.data._synth_constants`, so
    ``World("default")`` is the generator as it was before worlds existed (byte-identical files).
    Every other field is off (0 / None) by default and only drawn from when a world turns it on.

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

    Examples
    --------
    >>> world = World("long_episodes", episode_range=(4.0, 10.0), mixing={"audio": {"emotion": 0.6}})
    >>> world.episode_sigma == EPISODE_SIGMA, world.mixing_of("audio")["emotion"]
    (True, 0.6)
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
        """:data:`MIXING` of ``modality`` with this world's overrides.

        Examples
        --------
        >>> WORLDS["voice_led"].mixing_of("face_nn")["emotion"], WORLDS["default"].mixing_of("face_nn")["emotion"]
        (0.12, 0.28)
        """
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
