"""The suite: the window oracle is the ceiling it claims, and a run writes the report it promises."""

import json

import numpy as np
import pytest

from emo_gbm.metrics import score_recordings
from emo_gbm.suite import run_suite, suite_datasets, window_oracle, write_suite


def test_window_oracle_is_exact_on_labels_that_change_only_at_window_boundaries():
    # Episodes of 8 s: every 4 s window at a 1 s hop holds at most one label change, and the
    # windows covering a frame agree with it by majority except within 2 s of a change.
    labels = np.repeat([0, 3, 5, 1], 800)
    oracle = window_oracle(labels, np.ones(labels.size), 400, 100)
    assert oracle.shape == labels.shape
    changes = np.flatnonzero(np.diff(labels)) + 1
    far = np.ones(labels.size, dtype=bool)
    for c in changes:
        far[max(c - 200, 0): c + 200] = False
    assert (oracle[far] == labels[far]).all()
    assert (oracle == labels).mean() > 0.9


def test_window_oracle_weighs_frames_by_agreement():
    # Inside one window: 300 frames of class 2 with agreement 0.1 against 100 of class 4 with 1.0.
    labels = np.array([2] * 300 + [4] * 100)
    agreement = np.array([0.1] * 300 + [1.0] * 100)
    assert set(window_oracle(labels, agreement, 400, 100).tolist()) == {4}


def test_window_oracle_cannot_follow_episodes_shorter_than_a_window():
    rng = np.random.default_rng(0)
    labels = np.repeat(rng.integers(0, 6, 40), 50)  # 0.5 s episodes under 4 s windows
    oracle = window_oracle(labels, np.ones(labels.size), 400, 50)
    truth = {"a": (labels, np.ones(labels.size))}
    assert score_recordings({"a": oracle}, truth)["WA"] < 0.5


def test_unknown_world_is_refused_with_the_known_names(tmp_path):
    with pytest.raises(ValueError, match="unknown worlds.*default"):
        suite_datasets(tmp_path, worlds=["nope"])


def test_emodb_is_included_only_when_its_folder_exists(tmp_path):
    assert [d[0] for d in suite_datasets(tmp_path, emodb=tmp_path / "absent", worlds=["default"])] == ["default"]
    (tmp_path / "emodb" / "train").mkdir(parents=True)
    names = [(d[0], d[1]) for d in suite_datasets(tmp_path, emodb=tmp_path / "emodb", worlds=["default"])]
    assert names == [("default", "synthetic"), ("emodb", "real")]


@pytest.fixture(scope="module")
def small_suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    result = run_suite(root / "data", root / "build", root / "reports", emodb=None,
                       pipelines=("reference", "eyes_only"), worlds=["drift"], scale=0.03, seed=0, n_jobs=1,
                       command="test", say=lambda message: None)
    return root, result


def test_a_run_writes_every_required_key_and_the_report(small_suite):
    root, result = small_suite
    written = json.loads((root / "reports" / "suite.json").read_text())
    entry = written["worlds"][0]
    for key in ("name", "kind", "reference_WA", "reference_UA", "WA", "UA", "oracle_WA", "train_s"):
        assert key in entry, key
    assert entry["name"] == "drift" and entry["kind"] == "synthetic"
    assert entry["reference_WA"] <= entry["oracle_WA"] and entry["WA"] <= entry["oracle_WA"]
    assert (root / "reports" / "figures" / "suite.png").stat().st_size > 0
    assert "| drift | synthetic |" in (root / "reports" / "suite.md").read_text()
    assert written["default"] == "eyes_only"


def test_the_report_can_name_another_pipeline_the_default(small_suite, tmp_path):
    _, result = small_suite
    rewritten = write_suite(json.loads(json.dumps(result)), "reference", tmp_path)
    assert rewritten["worlds"][0]["margin"] == 0.0
    assert json.loads((tmp_path / "suite.json").read_text())["default"] == "reference"


def test_a_second_run_reuses_the_generated_world(small_suite):
    root, _ = small_suite
    stamp = (root / "data" / "drift" / "meta.csv").stat().st_mtime_ns
    run_suite(root / "data", root / "build2", root / "reports2", pipelines=("reference", "eyes_only"),
              worlds=["drift"], scale=0.03, seed=0, say=lambda message: None)
    assert (root / "data" / "drift" / "meta.csv").stat().st_mtime_ns == stamp


def test_reuse_scores_the_earlier_models_again_without_retraining(small_suite):
    root, result = small_suite
    model = root / "build" / "drift" / "models" / "reference.skops"
    stamp = model.stat().st_mtime_ns
    again = run_suite(root / "data", root / "build", root / "reports3", pipelines=("reference", "eyes_only"),
                      worlds=["drift"], scale=0.03, seed=0, say=lambda message: None, reuse=True)
    assert model.stat().st_mtime_ns == stamp
    first, second = result["worlds"][0], again["worlds"][0]
    assert (second["WA"], second["reference_WA"], second["train_s"]) == (first["WA"], first["reference_WA"],
                                                                         first["train_s"])
