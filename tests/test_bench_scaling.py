"""The bench's scaling section on hand-made measures: slopes per mode, the memory ratio, bench.md,
the figure and the --scaling-dask flag (no stage is run)."""

import pytest

from benchmarks import bench, cli
from benchmarks.markdown import _scaling_markdown
from benchmarks.stages import features_memory_ratio, fit_scaling_slopes, summarise_scaling
from emo_gbm.reporting import figure_scaling


def measures(frames, features_mb, runs=1, dask=1.0):
    """Times linear in frames for features, quadratic for train (``dask`` times slower)."""
    features, train = dask * frames / 1000, dask * (frames / 1000) ** 2
    return {"features_seconds": features, "train_seconds": train, "total_seconds": features + train,
            "features_peak_tree_rss_mb": features_mb, "features_peak_rss_mb": features_mb / 2,
            "train_peak_tree_rss_mb": 10 * features_mb, "train_peak_rss_mb": 5 * features_mb, "runs": runs}


def point(scale, frames, features_mb, dask_mb=None):
    p = {"label": f"{scale:g}x" if scale else "DATA (1x)", "scale": scale, "data": f"data/{scale}",
         "frames": frames, "recordings": {"train": frames // 100, "test": frames // 200},
         **measures(frames, features_mb, runs=3 if scale is None else 1)}
    if dask_mb is not None:
        p["dask"] = measures(frames, dask_mb, dask=2.0)
    return p


def scaling(dask):
    # given out of order: summarise_scaling sorts by frames
    return summarise_scaling([
        point(2.0, 8000, 440.0, 700.0 if dask else None),
        point(None, 4000, 420.0, 650.0 if dask else None),
        point(0.5, 2000, 400.0, 500.0 if dask else None),
    ])


def test_slopes_are_fitted_apart_for_plain_and_dask_runs():
    s = scaling(dask=True)
    assert [p["label"] for p in s["points"]] == ["0.5x", "DATA (1x)", "2x"]
    assert s["slope_features"] == pytest.approx(1.0) and s["slope_train"] == pytest.approx(2.0)
    # dask twice as slow at every size: the same slopes, fitted on the dask times
    assert s["slopes_dask"] == pytest.approx({k: s[k] for k in ("slope", "slope_features", "slope_train")})
    slower = summarise_scaling([dict(p, dask=measures(p["frames"], 1.0, dask=p["frames"] / 1000))
                                for p in s["points"]])
    assert slower["slopes_dask"]["slope_features"] == pytest.approx(2.0)
    assert slower["slope_features"] == pytest.approx(1.0)
    assert fit_scaling_slopes(s["points"][:1]) == {"slope": None, "slope_features": None, "slope_train": None}


def test_features_memory_ratio_is_2x_over_0_5x_per_mode():
    s = scaling(dask=True)
    assert s["features_memory_ratio_2x_over_0_5x"] == pytest.approx(1.1)
    assert s["features_memory_ratio_2x_over_0_5x_dask"] == pytest.approx(1.4)
    assert s["features_memory_ratio_target"] == 1.3
    without_half = [p for p in s["points"] if p["scale"] != 0.5]
    assert features_memory_ratio(without_half) is None
    plain = scaling(dask=False)
    assert plain["slopes_dask"] is None and plain["features_memory_ratio_2x_over_0_5x_dask"] is None


def test_scaling_markdown_with_dask_shows_both_modes_and_the_ratio_verdicts():
    text = "\n".join(_scaling_markdown({"pipeline": "stacked_gbm", "n_jobs": 2, "scaling": scaling(dask=True)}))
    header = next(line for line in text.splitlines() if line.startswith("| size"))
    assert header.count("|") == 3 + 5 + 5 + 1 + 1
    assert "dask features peak MB" in header and "runs (plain/dask)" in header
    assert "| 2x | 80/40 | 8,000 | 8.0 | 64.0 | 72.0 | 440 (220) | 4400 (2200) | 16.0 | 128.0 | 144.0 | 700 (350) " \
           "| 7000 (3500) | 1/1 |" in text
    assert "| DATA (1x) | 40/20 | 4,000 |" in text and "| 3/1 |" in text
    assert "Fitted slopes, plain: features + train 1.79, features 1.00, train 2.00." in text
    assert "Fitted slopes, `--dask local`: features + train 1.79, features 1.00, train 2.00." in text
    assert "features peak memory at 2x / at 0.5x: 1.10 (target <= 1.3: met)" in text
    assert "features peak memory at 2x / at 0.5x with `--dask local`: 1.40 (target <= 1.3: missed)" in text
    assert "LocalCluster" in text


def test_scaling_markdown_without_dask_or_the_ratio_sizes():
    s = summarise_scaling([point(None, 4000, 420.0), point(0.25, 1000, 390.0)])
    text = "\n".join(_scaling_markdown({"pipeline": "stacked_gbm", "scaling": s}))
    assert "dask" not in text and "2x / at 0.5x" not in text
    assert "| size | recordings (train/test) | frames | features s | train s | total s | features peak MB | " \
           "train peak MB | runs |" in text
    assert "Fitted slopes, plain:" in text


def test_scaling_figure_draws_both_modes(tmp_path):
    path = figure_scaling(scaling(dask=True), tmp_path / "figures" / "bench_scaling.png")
    assert path.stat().st_size > 10000


def test_cli_passes_scaling_dask_to_the_bench(monkeypatch, tmp_path):
    calls = []

    def fake_run_bench(*args, **kwargs):
        calls.append(kwargs)
        return {"stages": {}, "seconds": 0.0}

    monkeypatch.setattr(bench, "run_bench", fake_run_bench)
    argv = ["-q", "--data", str(tmp_path), "--scales", "0.25", "0.5", "2", "4", "--scaling-dask"]
    assert cli.main(argv) == 0
    assert calls[0]["scaling_dask"] is True and calls[0]["scales"] == [0.25, 0.5, 2.0, 4.0]
    assert calls[0]["command"].endswith("--scales 0.25 0.5 2 4 --scaling-dask")
    assert cli.main(argv[:-1]) == 0 and calls[1]["scaling_dask"] is False
