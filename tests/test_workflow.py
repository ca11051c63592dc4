"""End to end on a tiny synthetic dataset: features -> train -> predict, and the pipeline registry."""

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from sklearn.base import clone

from emo_gbm.constants import MODALITIES
from emo_gbm.modelio import load_model
from emo_gbm.data.io import list_recordings, read_template
from emo_gbm.reporting import delete_modalities
from emo_gbm.ensemble import META_C_GRID
from emo_gbm.ensemble._defaults import final_grid
from emo_gbm.data.synth import generate
from emo_gbm.features import feature_names
from emo_gbm.workflow import PREDICT_HOP, make_features, predict, predict_frame_proba, train
from emo_gbm.pipelines import (
    CENTRED_SUFFIX,
    LINEAR_C_GRID,
    LINEAR_SUFFIX,
    PIPELINES,
    SINGLE_MODALITY,
    STACKED_WITHOUT,
    TRAIN_HOP,
    FramePipeline,
    get_pipeline,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    generate(root, seed=7, scale=0.02)
    # One test recording loses every modality file: it still needs a prediction.
    bare = list_recordings(root, "test")[0]
    for modality in MODALITIES:
        (root / "test" / modality / f"{bare}.csv").unlink(missing_ok=True)
    return root


@pytest.fixture(scope="module")
def build(dataset, tmp_path_factory):
    build_dir = tmp_path_factory.mktemp("build")
    make_features(dataset, build_dir, splits=("train", "test"))
    return build_dir


def test_features_cache_windows_recordings_and_frames(dataset, build):
    train_windows = pd.read_parquet(build / "features" / "train.parquet")
    test_windows = pd.read_parquet(build / "features" / "test.parquet")
    frames = pd.read_parquet(build / "features" / "train_frames.parquet")
    recordings = pd.read_parquet(build / "features" / "test_recordings.parquet")
    assert (train_windows["label"] >= 0).all() and (test_windows["label"] == -1).all()
    assert set(np.diff(train_windows.query("start < 1000").groupby("rec_id")["start"].head(3))) >= {TRAIN_HOP}
    first = test_windows[test_windows["rec_id"] == test_windows["rec_id"].iloc[0]]
    assert np.diff(first["start"].to_numpy())[0] == PREDICT_HOP
    assert recordings["rec_id"].tolist() == list_recordings(dataset, "test")
    for rec_id, n_frames in zip(recordings["rec_id"], recordings["n_frames"]):
        assert n_frames == read_template(dataset / "test" / "prediction" / f"{rec_id}.csv").shape[0]
    assert len(frames) == frames.groupby("rec_id").size().sum()
    assert set(frames["rec_id"]) == set(train_windows["rec_id"])


def test_train_predict_every_template_frame_and_reload_identically(dataset, build):
    path = train(build, pipeline="stacked_gbm", seed=0)
    assert path == build / "models" / "stacked_gbm.skops"
    labels = predict(build, split="test", pipeline="stacked_gbm")
    ids = list_recordings(dataset, "test")
    assert list(labels) == ids
    for rec_id in ids:
        n_frames = read_template(dataset / "test" / "prediction" / f"{rec_id}.csv").shape[0]
        assert labels[rec_id].shape == (n_frames,) and labels[rec_id].dtype == np.int8
        assert labels[rec_id].min() >= 0 and labels[rec_id].max() <= 5
    again = predict(build, split="test", pipeline="stacked_gbm", n_jobs=2)
    for rec_id in ids:
        np.testing.assert_array_equal(again[rec_id], labels[rec_id])
    proba = predict_frame_proba(build, split="test", pipeline="stacked_gbm")
    np.testing.assert_allclose(proba[ids[0]].sum(axis=1), 1, rtol=1e-5)
    argmax = predict(build, split="test", pipeline="stacked_gbm", smoothing="argmax")
    assert all(argmax[r].shape == labels[r].shape for r in ids)
    # The meta-learner's recording context comes from the recording's own windows only.
    pipe = load_model(path)
    windows = pd.read_parquet(build / "features" / "test.parquet")
    together = pipe.predict_window_proba(windows)
    for rec_id in windows["rec_id"].unique()[:3]:
        rows = (windows["rec_id"] == rec_id).to_numpy()
        alone = pipe.predict_window_proba(windows[rows].iloc[::-1])[::-1]
        np.testing.assert_allclose(alone, together[rows], rtol=1e-6, atol=1e-9)


def test_a_stack_without_a_modality_never_reads_it(build):
    train(build, pipeline="stacked_gbm_without_face", seed=0)
    pipe = load_model(build / "models" / "stacked_gbm_without_face.skops")
    assert pipe.featurizer.exclude == ("face_nn",) and pipe.featurizer_.modalities_ == ["audio", "eyes", "kinect"]
    assert not any(c.startswith("face_nn__") for c in pipe.feature_columns_)
    assert not any(name.startswith("face_nn") for name in pipe.classifier_.estimators_)
    windows = pd.read_parquet(build / "features" / "test.parquet")
    proba = pipe.predict_window_proba(windows)
    np.testing.assert_array_equal(pipe.predict_window_proba(delete_modalities(windows, ["face_nn"])), proba)
    assert not np.allclose(pipe.predict_window_proba(delete_modalities(windows, ["audio"])), proba)
    labels = predict(build, split="test", pipeline="stacked_gbm_without_face")
    assert set(labels) == set(windows["rec_id"])


def test_training_is_deterministic_whatever_n_jobs(build, tmp_path):
    other = tmp_path / "build"
    shutil.copytree(build / "features", other / "features")
    train(build, pipeline="eyes_only", seed=3, n_jobs=1)
    train(other, pipeline="eyes_only", seed=3, n_jobs=2)
    one = predict(build, pipeline="eyes_only")
    two = predict(other, pipeline="eyes_only")
    for rec_id in one:
        np.testing.assert_array_equal(one[rec_id], two[rec_id])


def test_missing_caches_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="features stage"):
        train(tmp_path, pipeline="eyes_only")
    with pytest.raises(FileNotFoundError, match="train pipeline"):
        predict(tmp_path, pipeline="eyes_only")


def test_registry_names_factories_and_rejects_unknown_names():
    assert {"stacked_gbm", "stacked_xgb", "early_fusion", "audio_only", "face_only", "eyes_only", "kinect_only"} <= set(
        PIPELINES
    )
    for name in PIPELINES:
        pipeline = get_pipeline(name, random_state=4, n_jobs=2)
        assert isinstance(pipeline, FramePipeline) and pipeline.random_state == 4
    stacked = get_pipeline("stacked_gbm")
    # per modality of the data (resolved from the window table's columns when fitted): a boosted
    # model on every statistic, linear experts on the window means and on the window means
    # relative to the recording's, their C chosen by grouped CV
    assert stacked.featurizer.modalities is None and stacked.featurizer.exclude == ()
    spec = stacked.classifier.blocks(feature_names())  # the four modalities of the contract
    experts = {LINEAR_SUFFIX: "__mean", CENTRED_SUFFIX: "__mean_dev"}
    assert list(spec["modality_columns"]) == [f"{m}{suffix}" for m in MODALITIES for suffix in ("", *experts)]
    for modality in MODALITIES:
        for suffix, statistic in experts.items():
            linear = spec["modality_columns"][f"{modality}{suffix}"]
            assert linear and all(c.startswith(f"{modality}__") and c.endswith(statistic) for c in linear)
            assert spec["missing_columns"][f"{modality}{suffix}"] == f"{modality}__missing_frac"
            assert spec["base_grid"][f"{modality}{suffix}"]["logisticregression__C"] == list(LINEAR_C_GRID)
        assert not any(c.endswith("__missing_frac") for c in spec["modality_columns"][modality])
    assert get_pipeline("face_only").featurizer.modalities == ("face_nn",)
    for modality, name in SINGLE_MODALITY.items():
        assert name in PIPELINES and get_pipeline(name).featurizer.modalities == (modality,)
    # the stack without a modality: the same construction, without that modality's blocks
    for deleted, name in STACKED_WITHOUT.items():
        without = get_pipeline(name)
        assert name in PIPELINES and without.featurizer.exclude == (deleted,)
        columns = list(clone(without.featurizer).fit().get_feature_names_out())
        kept = without.classifier.blocks(columns)["modality_columns"]
        assert set(kept) == {block for block in spec["modality_columns"] if not block.startswith(deleted)}
        assert all(kept[block] == spec["modality_columns"][block] for block in kept)
    with pytest.raises(ValueError, match="known: audio_only, early_fusion"):
        get_pipeline("late_fusion")


def test_single_model_pipeline_trains_on_fewer_actors_than_folds(build):
    windows = pd.read_parquet(build / "features" / "train.parquet")
    frames = pd.read_parquet(build / "features" / "train_frames.parquet")
    actors = sorted(windows["group"].unique())[:3]  # 3 actors for 5 folds
    few = windows[windows["group"].isin(actors)].reset_index(drop=True)
    pipe = get_pipeline("kinect_only").fit(few, frames[frames["rec_id"].isin(few["rec_id"])])
    assert pipe.oof_window_proba_.shape == (len(few), 6)
    assert pipe.n_rounds_ in (10, 20, 30, 50, 75, 100, 150, 200, 250, 300)
    assert pipe.smoothing_ in ("viterbi", "overlap", "context")
    with pytest.raises(ValueError, match="single group"):
        one = windows[windows["group"] == actors[0]]
        get_pipeline("kinect_only").fit(one, frames[frames["rec_id"].isin(one["rec_id"])])


def test_stacked_pipeline_chooses_its_meta_learner_by_grouped_cv():
    classifier = get_pipeline("stacked_gbm").classifier
    assert classifier.final_estimator is None
    assert [p["C"] for p in final_grid(classifier.final_grid, classifier.final_estimator)] == list(META_C_GRID)


# --------------------------------------------------------------------------- caches keyed by content


def _mtime(path):
    return path.stat().st_mtime_ns


def test_switching_data_and_back_never_reuses_the_other_datasets_features(dataset, tmp_path):
    from emo_gbm.workflow import check_features_current

    first, second, build = tmp_path / "A", tmp_path / "B", tmp_path / "build"
    shutil.copytree(dataset, first)
    shutil.copytree(dataset, second)
    dropped = list_recordings(second, "train")[0]
    (second / "train" / "labels" / f"{dropped}.csv").unlink()
    make_features(first, build, splits=("train",), if_changed=True)
    windows_a = pd.read_parquet(build / "features" / "train.parquet")
    train(build, pipeline="eyes_only", data_dir=first)
    make_features(second, build, splits=("train",), if_changed=True)  # DATA=B
    assert dropped not in set(pd.read_parquet(build / "features" / "train.parquet")["rec_id"])
    with pytest.raises(ValueError, match="made from another dataset or the data changed; run make features"):
        train(build, pipeline="eyes_only", data_dir=first)
    make_features(first, build, splits=("train",), if_changed=True)  # back to DATA=A: recomputed
    pd.testing.assert_frame_equal(pd.read_parquet(build / "features" / "train.parquet"), windows_a)
    assert check_features_current(build, "train", first)["data"] == str(first)
    stamp = _mtime(build / "features" / "train.parquet")
    make_features(first, build, splits=("train",), if_changed=True)  # unchanged: untouched
    assert _mtime(build / "features" / "train.parquet") == stamp


def test_editing_a_file_in_place_invalidates_its_split_only(dataset, tmp_path):
    data, build = tmp_path / "A", tmp_path / "build"
    shutil.copytree(dataset, data)
    make_features(data, build, splits=("train", "test"))
    train(build, pipeline="eyes_only")
    predict(build, split="test", pipeline="eyes_only", data_dir=data)
    victim = sorted((data / "test" / "eyes").glob("*.csv"))[0]
    lines = victim.read_text().splitlines()
    lines[2] = lines[2].split(",", 1)[0] + "," + ",".join(["0.5"] * 6)  # same kind of row, new values
    victim.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"data changed; run make features \(files of .*/test changed"):
        predict(build, split="test", pipeline="eyes_only")
    train_stamp = _mtime(build / "features" / "train.parquet")
    test_stamp = _mtime(build / "features" / "test.parquet")
    make_features(data, build, splits=("train", "test"), if_changed=True)
    assert _mtime(build / "features" / "train.parquet") == train_stamp  # the model stays valid
    assert _mtime(build / "features" / "test.parquet") != test_stamp
    predict(build, split="test", pipeline="eyes_only", data_dir=data)
    # a same-size edit that keeps the mtime still changes the inode when a file is replaced
    replaced = sorted((data / "train" / "eyes").glob("*.csv"))[0]
    stat = replaced.stat()
    copy = replaced.with_name("copy.tmp")
    copy.write_bytes(replaced.read_bytes().replace(b",1,", b",0,", 1))
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(copy, replaced)
    with pytest.raises(ValueError, match="data changed"):
        train(build, pipeline="eyes_only")


def test_dot_files_and_unreadable_entries_do_not_break_the_fingerprint(dataset, tmp_path):
    from emo_gbm.workflow import dataset_fingerprint

    data = tmp_path / "A"
    shutil.copytree(dataset, data)
    key = dataset_fingerprint(data, "train")
    (data / "train" / "eyes" / "._x.csv").write_text("fork")
    (data / ".DS_Store").write_text("x")
    assert dataset_fingerprint(data, "train") == key  # ignored like every stage ignores them
    (data / "train" / "loop").symlink_to(data / "train")
    (data / "train" / "dangling.csv").symlink_to(data / "nowhere.csv")
    assert dataset_fingerprint(data, "train") != key
    assert dataset_fingerprint(data, "test") != dataset_fingerprint(data, "train")


def test_featurize_split_writes_a_split_with_its_schema_and_returns_its_columns(tmp_path):
    from emo_gbm.workflow import _featurize_split, _featurizer_metadata, dataset_fingerprint

    data, out = tmp_path / "data", tmp_path / "features"
    generate(data, scale=0.01)
    out.mkdir()
    metadata = {"length": 400, "hop": PREDICT_HOP, "stats": "default", "voicing": "both", "split": "test", "data": str(data),
                "fingerprint": dataset_fingerprint(data, "test")}
    columns = _featurize_split(data, out, "test", metadata, None, False, 1, False)
    assert set(columns) <= set(MODALITIES) and columns
    assert all(isinstance(c, tuple) for c in columns.values())
    assert metadata["schema"]["modalities"] == list(columns)
    assert _featurizer_metadata(out / "test.parquet") == metadata
    assert (out / "test_recordings.parquet").is_file() and not (out / "train_frames.parquet").exists()
    # the split changed meanwhile: the window table is removed, not left with a wrong key
    metadata["fingerprint"] = "0" * 16
    with pytest.raises(ValueError, match="changed while its features were computed"):
        _featurize_split(data, out, "test", metadata, None, False, 1, False)
    assert not (out / "test.parquet").exists()


def test_arrow_table_converts_as_pandas_conversion_and_cast_would():
    import pyarrow as pa

    from emo_gbm.workflow import _arrow_table

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "rec_id": ["a", "b", None, "d"], "start": np.arange(4), "label": np.array([0, -1, 2, 5], dtype=np.int8),
        "x": np.array([0.5, np.nan, -1.0, 2.0], dtype=np.float32), "y": np.array([1e300, np.nan, 0.1, -0.0]),
        "z": rng.normal(size=4).astype(np.float32),
    })
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    expected = pa.Table.from_pandas(frame, preserve_index=False).cast(schema)
    table = _arrow_table(frame, schema)
    assert table.equals(expected) and table.schema.equals(schema, check_metadata=True)
    assert table.column("x").null_count == 1 and table.column("y").null_count == 1  # NaN as null, as pandas' conversion
    assert table.column("y").to_pylist()[0] == 1e300  # float64 columns stay float64
    # a later piece whose floats came out wider is cast to the table's types
    wider = frame.astype({"x": np.float64})
    assert _arrow_table(wider, schema).equals(expected)
    with pytest.raises(ValueError, match="do not match"):
        _arrow_table(frame[["start", "rec_id", "label", "x", "y", "z"]], schema)
