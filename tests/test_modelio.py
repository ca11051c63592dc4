"""Model files that cannot run code: skops with an allow-list, identical predictions after a round trip."""

import io
import json
import pickle
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emo_gbm.errors import DataFormatError
from emo_gbm.modelio import TRUSTED_PACKAGES, TRUSTED_TYPES, load_model, save_model
from emo_gbm.data.synth import generate
from emo_gbm.workflow import make_features
from emo_gbm.pipelines import get_pipeline


def _skops_bytes(schema, others=None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps(dict({"protocol": 2, "_skops_version": "0.16.0"}, **schema)))
        for name, data in (others or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _os_system_schema(command):
    """A skops schema whose load calls ``os.system(command)`` once ``os.system`` is trusted."""
    return {
        "__class__": "system", "__module__": "os", "__loader__": "ConstructorFromReduceNode",
        "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": [
            {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
             "content": json.dumps(command), "is_json": True},
        ]},
    }


class _Payload:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        import os

        return os.system, (self.command,)


def test_allow_list_holds_only_the_named_packages():
    for name in TRUSTED_TYPES:
        assert name.split(".")[0] in TRUSTED_PACKAGES + ("collections",), name
    assert not any(name.startswith(("os.", "builtins.", "subprocess", "posix")) for name in TRUSTED_TYPES)


def test_a_skops_file_that_would_run_os_system_is_refused_and_runs_nothing(tmp_path):
    marker = Path(f"/tmp/pwned_{uuid.uuid4().hex}")
    path = tmp_path / "model.skops"
    path.write_bytes(_skops_bytes(_os_system_schema(f"touch {marker}")))
    with pytest.raises(DataFormatError, match=rf"model\.skops: refusing to load untrusted type os\.system"):
        load_model(path)
    assert not marker.exists()
    # the file is live: skops itself runs it once told to trust os.system (in a subprocess)
    code = f"import skops.io as s; s.load({str(path)!r}, trusted=['os.system'])"
    subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)
    assert marker.exists()
    marker.unlink()
    # the same payload hidden inside a real model
    model = {"pipeline": "x", "weights": np.arange(3.0)}
    save_model(model, path)
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
        others = {name: archive.read(name) for name in archive.namelist() if name != "schema.json"}
    schema["content"]["hook"] = _os_system_schema(f"touch {marker}")
    path.write_bytes(_skops_bytes(schema, others))
    with pytest.raises(DataFormatError, match="untrusted type os.system"):
        load_model(path)
    assert not marker.exists()


def test_a_pickle_in_place_of_a_model_is_refused_and_runs_nothing(tmp_path):
    marker = Path(f"/tmp/pwned_{uuid.uuid4().hex}")
    path = tmp_path / "eyes_only.skops"
    path.write_bytes(pickle.dumps(_Payload(f"touch {marker}")))
    with pytest.raises(DataFormatError, match="eyes_only.skops: not a skops model file"):
        load_model(path)
    assert not marker.exists()
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.skops")


def test_the_cli_refuses_a_crafted_model_in_one_line(tmp_path, capsys):
    from emo_gbm.cli import main

    marker = Path(f"/tmp/pwned_{uuid.uuid4().hex}")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "eyes_only.skops").write_bytes(_skops_bytes(_os_system_schema(f"touch {marker}")))
    code = main(["-q", "submission", "--data", str(tmp_path), "--build", str(tmp_path), "--pipeline", "eyes_only"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "untrusted type os.system" in err
    assert not marker.exists()


def test_data_frames_survive_and_the_model_is_left_unchanged(tmp_path):
    frame = pd.DataFrame({"method": ["a", "b"], "wa": [0.5, 0.25], "n": np.array([1, 2], dtype=np.int32)})
    holder = {"scores": frame, "nested": [frame]}
    save_model(holder, tmp_path / "m.skops")
    assert holder["scores"] is frame and holder["nested"][0] is frame
    loaded = load_model(tmp_path / "m.skops")
    pd.testing.assert_frame_equal(loaded["scores"], frame)
    pd.testing.assert_frame_equal(loaded["nested"][0], frame)


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    root = tmp_path_factory.mktemp("modelio")
    generate(root / "data", seed=5, scale=0.02)
    make_features(root / "data", root / "build", splits=("train", "test"))
    read = lambda name: pd.read_parquet(root / "build" / "features" / name)  # noqa: E731
    recordings = read("test_recordings.parquet")
    return read("train.parquet"), read("train_frames.parquet"), read("test.parquet"), dict(
        zip(recordings["rec_id"], recordings["n_frames"].astype(int))
    )


@pytest.mark.parametrize("name", ["eyes_only"])
def test_fitted_pipelines_round_trip_with_identical_predictions(features, tmp_path, name):
    train, frames, test, n_frames = features
    pipe = get_pipeline(name, random_state=0, n_jobs=1).fit(train, frames)
    before = pipe.predict_frames(test, n_frames)
    proba = pipe.predict_window_proba(test)
    save_model(pipe, tmp_path / f"{name}.skops")  # refuses types off the allow-list
    loaded = load_model(tmp_path / f"{name}.skops")
    after = loaded.predict_frames(test, n_frames)
    assert list(after) == list(before)
    for rec_id in before:
        np.testing.assert_array_equal(after[rec_id], before[rec_id])
    np.testing.assert_array_equal(loaded.predict_window_proba(test), proba)
    assert isinstance(loaded.smoothers_[loaded.smoothing_].tuning_scores_, pd.DataFrame)


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_a_stack_of_boosted_models_round_trips_with_identical_posteriors(tmp_path, library):
    from lightgbm import LGBMClassifier
    from xgboost import XGBClassifier

    from emo_gbm.ensemble.stacking import StackedModalityClassifier

    rng = np.random.default_rng(0)
    n = 240
    y = rng.integers(0, 3, n)
    X = pd.DataFrame({"a__missing_frac": np.zeros(n), "a__f0__mean": y + rng.normal(size=n),
                      "a__f1__mean": rng.normal(size=n), "b__missing_frac": np.zeros(n),
                      "b__f0__mean": y * 0.5 + rng.normal(size=n)})
    estimator = (LGBMClassifier(n_estimators=10, num_leaves=4, min_child_samples=5, n_jobs=1, verbose=-1)
                 if library == "lightgbm" else XGBClassifier(n_estimators=10, max_depth=2, n_jobs=1))
    model = StackedModalityClassifier(
        estimator=estimator, modality_columns={"a": ["a__f0__mean", "a__f1__mean"], "b": ["b__f0__mean"]},
        missing_columns={"a": "a__missing_frac", "b": "b__missing_frac"}, cv=3, random_state=0,
    ).fit(X, y, groups=np.arange(n) // 10)
    save_model(model, tmp_path / "stack.skops")
    loaded = load_model(tmp_path / "stack.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
