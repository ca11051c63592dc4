"""Writing a synthetic dataset: every recording's files in the challenge layout, meta and summary."""

import json
import shutil
import time as _time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from joblib import Parallel, delayed

from emo_gbm.constants import ANSWERS_DIR, EMOTIONS, FRAME_RATE, META_FILE, MODALITIES, SPLITS, TEST_SPLITS
from emo_gbm.data._grid_files import LABEL_HEADER, TEMPLATE_HEADER
from emo_gbm.data._layout import META_COLUMNS, _grid_dir
from emo_gbm.data._simulate import simulate_recording
from emo_gbm.data._synth_constants import _FIRST_LINES, SIGNIFICANT_DIGITS, SYNTH_FILE
from emo_gbm.data._synth_plan import _plan
from emo_gbm.data._world_draws import _make_world
from emo_gbm.data._worlds import get_world
from emo_gbm.metrics import scored_frames


def _round_significant(x):
    """Round to :data:`SIGNIFICANT_DIGITS` significant digits so the shortest decimal form is short."""
    x = np.asarray(x, dtype=np.float64)
    magnitude = np.abs(x)
    exponent = np.floor(np.log10(np.where(magnitude > 0, magnitude, 1.0))).astype(np.int64)
    shift = SIGNIFICANT_DIGITS - 1 - exponent
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


def _label_columns(time_strings, labels, agreement):
    onehot = [pa.array((labels == k).astype(np.int8)) for k in range(len(EMOTIONS))]
    return [time_strings] + onehot + [agreement]


def _write_recording(plan, seed, world, out_dir):
    rec = simulate_recording(plan, seed, world)
    out_dir = Path(out_dir)
    split, name = plan["split"], plan["id"] + ".csv"
    n = plan["n_frames"]
    grid = _time_strings(plan["start"] + np.arange(n), 2)
    if split == "train":
        label_path = _grid_dir(out_dir, split) / name
    else:
        zeros = np.zeros(n, dtype=np.int8)
        _write_csv(_grid_dir(out_dir, split) / name, ",".join(TEMPLATE_HEADER), [grid] + [zeros] * len(EMOTIONS))
        label_path = out_dir / ANSWERS_DIR / split / name
    _write_csv(label_path, ",".join(LABEL_HEADER), _label_columns(grid, rec["labels"], rec["agreement"]))
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
        _grid_dir(out_dir, split).mkdir(exist_ok=True)
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
        meta.write(",".join(META_COLUMNS) + "\n")
        for plan in plans:
            meta.write(f"{plan['id']},{plan['split']},{plan['session']},{plan['actor']}\n")
    # The world goes beside meta.csv, not into it: meta.csv's columns are fixed.
    with open(out_dir / SYNTH_FILE, "w", encoding="utf-8", newline="\n") as info:
        info.write(json.dumps({"world": params.name, "seed": seed, "scale": scale}, sort_keys=True) + "\n")
    summary = _summary(results, out_dir, seed, scale, _time.perf_counter() - started)
    return {**summary, "world": params.name}


def _summary(results, out_dir, seed, scale, seconds):
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
