"""One synthetic recording simulated in memory: labels, agreement and the streams of its files."""

from emo_gbm.constants import FRAME_RATE, MODALITIES
from emo_gbm.data._episodes import _emotion_latents, _episodes
from emo_gbm.data._render import _RENDERERS, _sample_frames
from emo_gbm.data._signals import _ar1, _rng
from emo_gbm.data._synth_constants import (
    _LABEL_NOISE_KEY,
    _MODALITY_KEYS,
    _RECORDING_KEY,
    BLANK_FILE_RATE,
    BLANK_SECONDS,
)
from emo_gbm.data._world_draws import _make_world
from emo_gbm.data._worlds import World


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
    >>> from emo_gbm.data._synth_plan import _plan
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
