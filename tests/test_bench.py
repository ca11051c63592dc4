"""The bench: a quick smoke run end to end, the pandas reference, stage failures."""

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks import StageError, pandas_window_features, run_stage
from benchmarks.cli import main as bench_main
from emo_gbm.constants import MODALITIES
from emo_gbm.modelio import load_model
from emo_gbm.data.recording import Recording
from emo_gbm.reporting import delete_modalities, run_modality_table
from emo_gbm.data.synth import generate
from emo_gbm.features import featurize_recording, feature_names


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory):
    """One quick bench run; its build folder (features, two trained pipelines) is reused below."""
    pytest.importorskip("psutil")  # the bench measures memory with it (pip install -e '.[bench]')
    root = tmp_path_factory.mktemp("bench")
    data, build, out = root / "data", root / "bench", root / "reports"
    # scale 0.02, seed 2: six train actors, enough for the pipelines' five grouped folds
    generate(data, seed=2, scale=0.02)
    # single-modality pipelines keep the smoke run short; the full bench compares stacked_gbm/xgb
    code = bench_main(["-q", "--data", str(data), "--build", str(build), "--out", str(out), "--quick",
                       "--pipeline", "eyes_only", "--versus", "kinect_only"])
    return code, data, build, out


def test_quick_bench_writes_markdown_json_and_scaling_figure(quick_bench):
    code, data, build, out = quick_bench
    assert code == 0
    result = json.loads((out / "bench.json").read_text())
    assert result["quick"] is True and result["repeats"] == 1
    assert {"nproc", "cpu", "date"} <= set(result["machine"])
    assert list(result["stages"]) == ["features", "train", "submission"]
    for stage in result["stages"].values():
        assert stage["median_seconds"] > 0
        assert stage["median_peak_tree_rss_mb"] >= stage["median_peak_rss_mb"] > 50  # a Python with numpy
        assert stage["command"].startswith("emo-gbm ")
    assert result["memory"]["peak_mb"] == max(s["median_peak_tree_rss_mb"] for s in result["stages"].values())
    windowing = result["windowing"]
    assert windowing["featurizer_fps"] > 0 and windowing["pandas_fps"] > 0
    assert windowing["speedup_vs_pandas"] == pytest.approx(windowing["featurizer_fps"] / windowing["pandas_fps"])
    # the bench checks that the featurizer and the pandas reference compute the same numbers
    assert windowing["agreement_with_pandas"]["same_missing_cells"]
    assert windowing["agreement_with_pandas"]["max_relative_difference"] < 1e-5
    assert windowing["tsfresh"]["status"].startswith("skipped")
    assert set(result["versus"]) == {"eyes_only", "kinect_only"}
    for entry in result["versus"].values():
        assert 0 <= entry["WA"] <= 1 and entry["median_train_seconds"] > 0
    points = result["scaling"]["points"]
    assert [p["label"] for p in points] == ["DATA (0.019x)", "0.03x"]
    assert points[0]["frames"] < points[1]["frames"]
    assert result["scaling"]["slope"] is not None
    # the DATA point carries the stage medians' peaks; no dask runs, no 0.5x/2x ratio without --scaling-dask/--scales
    assert points[0]["features_peak_tree_rss_mb"] == result["stages"]["features"]["median_peak_tree_rss_mb"]
    for point in points:
        assert point["features_peak_tree_rss_mb"] >= point["features_peak_rss_mb"] > 50
        assert point["train_peak_tree_rss_mb"] >= point["train_peak_rss_mb"] > 50
        assert "dask" not in point
    assert result["scaling"]["slopes_dask"] is None and result["scaling"]["features_memory_ratio_2x_over_0_5x"] is None
    markdown = (out / "bench.md").read_text()
    assert markdown.startswith("# Bench\n\n```sh\npython -m benchmarks --data ")
    assert "2 cores" in markdown or f"{result['machine']['nproc']} cores" in markdown
    for heading in ("## Stages", "## Windowing throughput", "## eyes_only against kinect_only",
                    "## Time against dataset size"):
        assert heading in markdown
    assert (out / "figures" / "bench_scaling.png").stat().st_size > 10000


def recording_with_gaps(seed=0, n_frames=1234):
    """A recording with every kind of missing data: absent stream, gaps, NaN cells, eye flags."""
    rng = np.random.default_rng(seed)
    rec = Recording.empty("id00000001", 12.5 + np.arange(n_frames) / 100)
    for modality in ("audio", "eyes", "kinect"):
        values = rng.normal(size=rec.streams[modality].shape).astype(np.float32)
        present = rng.random(n_frames // 50 + 1).repeat(50)[:n_frames] > 0.3
        rec.streams[modality][:] = np.where(present[:, None], values, np.nan)
        rec.present[modality][:] = present
    rec.streams["audio"][rng.random(rec.streams["audio"].shape) < 0.01] = np.nan  # single NaN cells
    rec.streams["eyes"][:, 4:] = (rng.random((n_frames, 2)) < 0.4).astype(np.float32)
    rec.streams["eyes"][~rec.present["eyes"]] = np.nan
    return rec  # face_nn stays absent


def test_pandas_reference_computes_the_featurizer_statistics():
    rec = recording_with_gaps()
    names = feature_names()
    ours = featurize_recording(rec)[names].to_numpy(np.float64)
    reference = pandas_window_features(rec).to_numpy(np.float64)
    assert reference.shape == ours.shape
    assert np.array_equal(np.isnan(ours), np.isnan(reference))
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-5)


def test_a_failing_stage_names_its_command_and_log(tmp_path):
    pytest.importorskip("psutil")
    with pytest.raises(StageError, match=r"check-submission .*exit code 2(.|\n)*no submission templates"):
        run_stage(["check-submission", tmp_path / "missing.zip", tmp_path], tmp_path / "stage.log")


def test_modality_table_deletes_modalities_at_prediction(quick_bench):
    _, data, build, _ = quick_bench
    # the bench left cached features and a trained eyes_only pipeline in its build folder
    path = run_modality_table(data, build, pipeline="eyes_only", train_single=False, baseline=False)
    payload = json.loads(path.read_text())
    table = {row["condition"]: row for row in payload["conditions"]}
    # every smoother scored on the same posteriors; the pipeline's own choice is the table's
    assert set(payload["smoothing"]) == {"argmax", "overlap", "viterbi", "context"}
    assert payload["smoothing"][payload["smoothing_default"]]["WA"] == table["all"]["stack"]["WA"]
    assert list(table) == ["all"] + [f"without_{m}" for m in MODALITIES] + [f"only_{m}" for m in MODALITIES]
    all_four = table["all"]["stack"]
    # a model reading eyes only does not notice the other modalities being deleted ...
    for condition in ("without_audio", "without_face_nn", "without_kinect", "only_eyes"):
        assert table[condition]["stack"]["WA"] == all_four["WA"]
    # ... and deleting eyes leaves it the blank-input answer on every window
    model = load_model(build / "models" / "eyes_only.skops")
    windows = pd.read_parquet(build / "features" / "test.parquet")
    blank = model.predict_window_proba(delete_modalities(windows, ["eyes"]))
    np.testing.assert_allclose(blank, np.broadcast_to(blank[0], blank.shape))
    assert not np.allclose(model.predict_window_proba(windows), blank)
    assert table["only_eyes"]["deleted"] == ["audio", "face_nn", "kinect"]
    # the single-modality pipelines already trained (eyes, kinect by the bench) are scored as they are
    assert table["only_eyes"]["trained"]["WA"] == all_four["WA"]
    assert table["only_kinect"]["trained"]["pipeline"] == "kinect_only"
    assert table["only_audio"]["trained"] is None and table["all"]["baseline"] is None
    # the stacks on three modalities were not trained here (train_single=False), so not scored
    assert all(table[f"without_{m}"]["trained"] is None for m in MODALITIES)


def test_bench_refuses_a_build_folder_it_did_not_create(tmp_path, capsys):
    project_build = tmp_path / "build"
    (project_build / "models").mkdir(parents=True)
    (tmp_path / "data" / "train").mkdir(parents=True)
    code = bench_main(["-q", "--data", str(tmp_path / "data"), "--build", str(project_build), "--quick"])
    assert code == 2
    assert "not created by the bench" in capsys.readouterr().err
