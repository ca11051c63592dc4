"""The report: README and every figure from a tiny dataset, with and without the baseline."""

import json
import struct

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier

from emo_gbm.constants import EMOTIONS
from emo_gbm.errors import DataFormatError
from emo_gbm.data.io import list_recordings, read_labels
from emo_gbm.modelio import save_model
from emo_gbm.reporting import (
    DPI,
    FIGURES,
    MODALITY_TITLES,
    gain_importance,
    neighbourhood_missing,
    read_prediction_folder,
    write_report,
)
from emo_gbm.ensemble.stacking import StackedModalityClassifier
from emo_gbm.submission import check_submission, write_submission
from emo_gbm.data.synth import generate


def png_size(path):
    """Width and height from a PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    generate(root, seed=3, scale=0.01)
    return root


def noisy_predictions(data, keep_share, seed):
    """Predictions that copy the truth in blocks of 0.5 s with probability ``keep_share``."""
    rng = np.random.default_rng(seed)
    predictions = {}
    for rec_id in list_recordings(data, "test"):
        _, labels, _ = read_labels(data / "answers" / "test" / f"{rec_id}.csv")
        keep = np.repeat(rng.random(len(labels) // 50 + 1) < keep_share, 50)[: len(labels)]
        predictions[rec_id] = np.where(keep, labels, rng.integers(0, 6, len(labels))).astype(np.int8)
    return predictions


def write_run(predictions, data, out):
    zip_path = write_submission(predictions, data, "test", out)
    scores = check_submission(zip_path, data, "test")["scores"]
    (out / "metrics.json").write_text(json.dumps(dict(scores, split="test")))
    return scores


def fitted_stack(path):
    """A small stacked model on named window features of two modalities, saved as the workflow saves models."""
    rng = np.random.default_rng(0)
    n = 240
    y = rng.integers(0, 3, n)
    columns = {
        "audio__missing_frac": np.zeros(n),
        "audio__f000__mean": y + rng.normal(size=n),
        "audio__f000__std": rng.normal(size=n),
        "eyes__missing_frac": np.zeros(n),
        "eyes__f004__flag_frac": rng.normal(size=n),
    }
    X = pd.DataFrame(columns)
    model = StackedModalityClassifier(
        estimator=LGBMClassifier(n_estimators=10, num_leaves=4, min_child_samples=5, n_jobs=1, verbose=-1),
        modality_columns={"audio": ["audio__f000__mean", "audio__f000__std"], "eyes": ["eyes__f004__flag_frac"]},
        missing_columns={"audio": "audio__missing_frac", "eyes": "eyes__missing_frac"},
        cv=3, random_state=0,
    ).fit(X, y, groups=np.arange(n) // 10)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the report must find the stacked classifier inside whatever object the pipeline saves
    save_model({"pipeline": "stacked_gbm", "model": model}, path)
    return model


def test_full_report_has_every_figure_at_its_size_and_the_headline(dataset, tmp_path):
    build, out = tmp_path / "build", tmp_path / "reports"
    stack = write_run(noisy_predictions(dataset, 0.7, seed=1), dataset, build)
    bilstm = write_run(noisy_predictions(dataset, 0.4, seed=2), dataset, build / "baseline")
    fitted_stack(build / "models" / "stacked_gbm.skops")
    result = write_report(dataset, build, out, command="emo-gbm report --test")
    for name, (file_name, (width, height)) in FIGURES.items():
        path = out / "figures" / file_name
        assert path.stat().st_size > 5000, name
        assert png_size(path) == (round(width * DPI), round(height * DPI)), name
    readme = (out / "README.md").read_text()
    assert "emo-gbm report --test" in readme
    assert f"{stack['WA']:.4f}" in readme and f"{bilstm['WA']:.4f}" in readme
    for file_name, _ in FIGURES.values():
        assert f"(figures/{file_name})" in readme
    assert result["scores"]["stack"]["WA"] == pytest.approx(stack["WA"])
    assert result["scores"]["bilstm"]["UA"] == pytest.approx(bilstm["UA"])
    # modality table and bench were not run: listed as missing, nothing else is
    assert len(result["missing"]) == 2
    assert any("modalities.json" in m for m in result["missing"])
    assert any("bench.json" in m for m in result["missing"])


def test_missing_baseline_is_reported_not_fatal(dataset, tmp_path):
    build, out = tmp_path / "build", tmp_path / "reports"
    write_run(noisy_predictions(dataset, 0.7, seed=1), dataset, build)
    result = write_report(dataset, build, out, command="emo-gbm report")
    assert set(result["scores"]) == {"stack"}
    readme = (out / "README.md").read_text()
    assert "| BiLSTM baseline | not run |" in readme
    missing = "\n".join(result["missing"])
    assert "BiLSTM baseline predictions" in missing and "stacked_gbm.skops" in missing
    for file_name, _ in FIGURES.values():
        assert (out / "figures" / file_name).stat().st_size > 0


def test_nothing_run_yet_still_writes_every_panel(dataset, tmp_path):
    result = write_report(dataset, tmp_path / "empty_build", tmp_path / "reports", command="emo-gbm report")
    assert result["scores"] == {}
    assert any("stacked GBM predictions" in m for m in result["missing"])
    assert all((tmp_path / "reports" / "figures" / f).is_file() for f, _ in FIGURES.values())


def test_stale_predictions_of_another_dataset_are_ignored(dataset, tmp_path):
    build = tmp_path / "build"
    write_run(noisy_predictions(dataset, 0.7, seed=1), dataset, build)
    victim = sorted((build / "submission" / "prediction").glob("*.csv"))[0]
    victim.unlink()
    result = write_report(dataset, build, tmp_path / "reports", command="emo-gbm report")
    assert "stack" not in result["scores"]
    assert any("does not match" in m and victim.stem in m for m in result["missing"])


def test_modality_table_is_shown_with_the_published_figures(dataset, tmp_path):
    build, out = tmp_path / "build", tmp_path / "reports"
    write_run(noisy_predictions(dataset, 0.7, seed=1), dataset, build)
    conditions = [{"condition": "all", "modalities": ["audio", "face_nn", "eyes", "kinect"],
                   "stack": {"WA": 0.61, "UA": 0.55}, "trained": None, "baseline": None},
                  {"condition": "only_face_nn", "modalities": ["face_nn"], "stack": {"WA": 0.41, "UA": 0.35},
                   "trained": {"WA": 0.45, "UA": 0.38}, "baseline": None}]
    table = {"split": "test", "conditions": conditions, "early_fusion": {"WA": 0.60, "UA": 0.5},
             "smoothing": {"argmax": {"WA": 0.58, "UA": 0.5}, "viterbi": {"WA": 0.61, "UA": 0.55}}}
    (build / "modalities.json").write_text(json.dumps(table))
    write_report(dataset, build, out, command="emo-gbm report")
    readme = (out / "README.md").read_text()
    assert f"| {MODALITY_TITLES['face_nn']} alone | 0.410 / 0.350 | 0.450 / 0.380 | - | - | 0.480 |" in readme
    assert "| all four | 0.610 / 0.550 | - | - | - | 0.525 |" in readme
    # the margins against the targets: early fusion missed, best single modality and smoother met
    assert "| over early fusion | 0.6100 | 0.6000 | +0.0100 | >= 0.02 | no |" in readme
    assert f"| over the best single modality ({MODALITY_TITLES['face_nn']}) | 0.6100 | 0.4500 | +0.1600 | >= 0.05 | yes |" in readme
    assert "| smoother over per-window argmax | 0.6100 | 0.5800 | +0.0300 | >= 0.01 | yes |" in readme


def test_gain_importance_groups_by_modality_and_statistic(tmp_path):
    model = fitted_stack(tmp_path / "model.skops")
    importance = gain_importance(tmp_path / "model.skops")
    assert set(importance["by_modality"]) == {"audio", "eyes"}
    assert set(importance["by_statistic"]) <= {"mean", "std", "flag_frac", "missing_frac"}
    assert sum(importance["by_modality"].values()) == pytest.approx(1.0)
    audio_gain = model.estimators_["audio"].booster_.feature_importance("gain").sum()
    assert importance["by_modality"]["audio"] * importance["total_gain"] == pytest.approx(audio_gain)
    # the default meta-learner's weights are the blocks' weights in its product of experts
    assert importance["meta_weight_kind"] == "weight in the product of experts"
    assert importance["meta_weight"] == dict(zip(["audio", "eyes"], model.final_estimator_.expert_weights_.tolist()))
    assert importance["meta_weight"]["audio"] > importance["meta_weight"]["eyes"]  # only audio knows y


def test_prediction_files_need_one_class_per_row(tmp_path):
    folder = tmp_path / "prediction"
    folder.mkdir()
    header = "Time," + ",".join(EMOTIONS)
    (folder / "id00000001.csv").write_text(f"{header}\n0.00,0,0,1,0,0,0\n0.01,0,1,1,0,0,0\n")
    with pytest.raises(DataFormatError, match=r"id00000001.csv, line 3"):
        read_prediction_folder(folder)
    with pytest.raises(FileNotFoundError):
        read_prediction_folder(tmp_path / "nowhere")


def test_neighbourhood_missing_is_the_share_around_each_frame():
    present = np.ones((1000, 4), dtype=bool)
    present[500:, 0] = False  # one modality of four gone for the second half
    share = neighbourhood_missing(present, half=200)
    assert share[:300].max() == 0.0
    assert share[700:].min() == pytest.approx(0.25)
    assert share[500] == pytest.approx(0.125)
