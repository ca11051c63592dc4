"""The data decides the schema (any modality folder, any width, names from headers), and
``emo-gbm predict`` writes frame posteriors for every template."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from emo_gbm.cli import main
from emo_gbm.constants import EMOTIONS
from emo_gbm.errors import DataFormatError
from emo_gbm.data.io import list_recordings, load_recording, load_split, measured_rate, read_split_columns
from emo_gbm.modelio import load_model
from emo_gbm.posteriors import predict_posteriors, recording_from_frames
from emo_gbm.submission import read_template_lines
from emo_gbm.data.synth import generate
from emo_gbm.features import FEATURE_SETS, META_COLUMNS, VOICED_ONLY
from emo_gbm.pipelines import get_pipeline
from emo_gbm.workflow import make_features

EXTRA_AUDIO = ("energy__total", "pitch [Hz]", "zcr", "hnr")  # 36 + 4 = 40 audio columns
PHYSIO = ("eda", "bvp", "temp")
PHYSIO_RATE = 32


def _grid(data, split, rec_id):
    folder = "labels" if split == "train" else "prediction"
    return pd.read_csv(data / split / folder / f"{rec_id}.csv")["Time"].to_numpy()


def _widen_audio(path):
    """Four more audio columns (zero where the row is zero, so missing rows stay missing)."""
    audio = pd.read_csv(path)
    base = audio.iloc[:, 1:5].to_numpy()
    for k, name in enumerate(EXTRA_AUDIO):
        audio[name] = np.round(base[:, k] * (0.5 + k), 4)
    audio.to_csv(path, index=False)


def _write_physio(data, split, rec_id, seed):
    grid = _grid(data, split, rec_id)
    rng = np.random.default_rng(seed)
    times = np.arange(grid[0], grid[-1], 1 / PHYSIO_RATE)
    values = rng.normal(1.0, 0.2, (len(times), len(PHYSIO))).round(4)
    frame = pd.DataFrame(values, columns=list(PHYSIO))
    frame.insert(0, "Time", times.round(5))
    (data / split / "physio").mkdir(exist_ok=True)
    frame.to_csv(data / split / "physio" / f"{rec_id}.csv", index=False)


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """A synthetic dataset with 40 audio columns and a fifth modality, physio (3 columns, 32 Hz),
    run through features, train (stacked_gbm) and predict (CSV and Parquet)."""
    root = tmp_path_factory.mktemp("wide")
    data, build = root / "data", root / "build"
    generate(data, seed=5, scale=0.02)
    for split in ("train", "test"):
        for path in sorted((data / split / "audio").glob("*.csv")):
            _widen_audio(path)
        for k, rec_id in enumerate(list_recordings(data, split)):
            if k % 5 != 1:  # some recordings lack physio
                _write_physio(data, split, rec_id, seed=k)
    bare = list_recordings(data, "test")[0]  # no modality file at all: still gets posteriors
    for folder in (data / "test").iterdir():
        if folder.name != "prediction":
            (folder / f"{bare}.csv").unlink(missing_ok=True)
    assert main(["-q", "features", "--data", str(data), "--build", str(build)]) == 0
    assert main(["-q", "train", "--build", str(build), "--pipeline", "stacked_gbm"]) == 0
    assert main(["-q", "predict", "--data", str(data), "--build", str(build), "--out", str(root / "csv")]) == 0
    assert main(["-q", "predict", "--data", str(data), "--build", str(build), "--out", str(root / "pq"),
                 "--format", "parquet"]) == 0
    return data, build, root, bare


REFERENCE_STATS = set(FEATURE_SETS["reference"]) | {"missing_frac"}


def test_every_column_of_a_wider_audio_and_of_a_fifth_modality_is_used(wide):
    data, build, _, _ = wide
    train = pd.read_parquet(build / "features" / "train.parquet")
    test = pd.read_parquet(build / "features" / "test.parquet")
    assert list(test.columns) == list(train.columns)  # the test windows have exactly the train columns
    for name in ("audio__Loudness_sma3__mean", "audio__energy_total__mean", "audio__pitch_Hz__std",
                 "audio__hnr__mean_dev", "physio__eda__mean", "physio__temp__q90", "physio__missing_frac",
                 "face_nn__c099__mean", "eyes__c004__flag_frac"):
        assert name in train.columns, name
    audio_columns = {c.split("__")[1] for c in train.columns if c.startswith("audio__") and c.count("__") == 2}
    # the 40 columns, and openSMILE's voiced-only ones (those of the 36 named so) read over voiced frames too
    voiced = {f"{name}_voiced" for name in VOICED_ONLY} | {"voiced"}
    assert len(audio_columns) == 40 + len(voiced) and voiced <= audio_columns
    schema = pq.read_schema(build / "features" / "train.parquet").metadata[b"emo_gbm.featurizer"]
    schema = json.loads(schema)["schema"]
    assert schema["modalities"] == ["audio", "face_nn", "eyes", "kinect", "physio"]
    assert len(schema["columns"]["audio"]) == 40 and schema["columns"]["physio"] == list(PHYSIO)
    rates = pd.read_parquet(build / "features" / "train_recordings.parquet")  # each file's measured rate
    assert rates["rate__physio"].median() == PHYSIO_RATE and rates["rate__kinect"].median() == 15
    pipe = load_model(build / "models" / "stacked_gbm.skops")
    # every column of the window table is read, but the voiced-only descriptors as given (the
    # reference's): their voiced readings stand in their place
    features = [c for c in train.columns if c not in META_COLUMNS and c.split("__")[1] not in VOICED_ONLY]
    assert sorted(pipe.feature_columns_) == sorted(features) and len(pipe.feature_columns_) == len(features)
    assert get_pipeline("reference").featurizer.fit_columns(train.columns).get_feature_names_out().tolist() == [
        c for c in train.columns if c not in META_COLUMNS and c.split("__")[-1] in REFERENCE_STATS
        and "voiced" not in c.split("__")[1]]
    features = pipe.feature_columns_
    assert {"physio", "physio_linear", "physio_centred"} <= set(pipe.classifier_.blocks_)
    used = set().union(*(set(pipe.classifier_.blocks_[b]) for b in pipe.classifier_.blocks_))
    assert used == set(range(len(features)))  # every column sits in some block
    physio = pipe.classifier_.blocks_["physio"]
    assert {features[j] for j in physio} == {c for c in features if c.startswith("physio__")}


def test_predict_writes_posteriors_for_every_template_with_its_time_strings(wide):
    data, _, root, bare = wide
    templates = sorted((data / "test" / "prediction").glob("*.csv"))
    assert sorted(p.name for p in (root / "csv").iterdir()) == [p.name for p in templates]
    for template in templates:
        header, times = read_template_lines(template)
        written = (root / "csv" / template.name).read_text().splitlines()
        assert written[0] == header
        rows = [line.split(",") for line in written[1:]]
        assert [r[0] for r in rows] == times  # Time strings exactly as in the template
        values = np.array([[float(x) for x in r[1:]] for r in rows])
        assert values.shape == (len(times), 6) and (values >= 0).all()
        np.testing.assert_allclose(values.sum(axis=1), 1, atol=1e-6)
        assert all(len(x.split(".")[1]) == 6 for x in rows[0][1:])
    assert (root / "csv" / f"{bare}.csv").is_file()
    assert not list(root.glob(".csv-*"))  # no staging folder left behind


def test_predict_parquet_holds_the_same_posteriors(wide):
    data, _, root, _ = wide
    templates = sorted((data / "test" / "prediction").glob("*.csv"))
    assert sorted(p.name for p in (root / "pq").iterdir()) == [f"{p.stem}.parquet" for p in templates]
    for template in templates[:5]:
        frame = pd.read_parquet(root / "pq" / f"{template.stem}.parquet")
        assert list(frame.columns) == ["Time", *EMOTIONS]
        assert frame["Time"].tolist() == read_template_lines(template)[1]
        np.testing.assert_allclose(frame[list(EMOTIONS)].sum(axis=1), 1, rtol=1e-12)
        csv = pd.read_csv(root / "csv" / template.name)
        np.testing.assert_allclose(frame[list(EMOTIONS)], csv[list(EMOTIONS)], atol=4e-6)


def _read_stream(path, modality):
    """A modality file as a DataFrame with a Time column, read with plain pandas."""
    if modality in ("eyes", "face_nn"):
        frame = pd.read_csv(path, skiprows=1, header=None)
        return frame.rename(columns={0: "Time"})
    return pd.read_csv(path)


def test_python_api_on_dataframes_gives_the_posteriors_of_the_files(wide):
    data, build, root, bare = wide
    pipe = load_model(build / "models" / "stacked_gbm.skops")
    with_physio = [r for r in list_recordings(data, "test") if (data / "test" / "physio" / f"{r}.csv").is_file()]
    for rec_id in (with_physio[0], bare):
        streams = {
            folder.name: _read_stream(folder / f"{rec_id}.csv", folder.name)
            for folder in sorted((data / "test").iterdir())
            if folder.name != "prediction" and (folder / f"{rec_id}.csv").is_file()
        }
        assert (rec_id == bare) == (not streams)
        grid = _grid(data, "test", rec_id)
        recording = recording_from_frames(rec_id, grid, streams)
        posteriors = predict_posteriors(pipe, recording)
        assert list(posteriors.columns) == ["Time", *EMOTIONS] and len(posteriors) == len(grid)
        np.testing.assert_allclose(posteriors[list(EMOTIONS)].sum(axis=1), 1, rtol=1e-9)
        written = pd.read_csv(root / "csv" / f"{rec_id}.csv")
        np.testing.assert_allclose(posteriors[list(EMOTIONS)], written[list(EMOTIONS)], atol=4e-6)
        # the same recording read from the files
        from_files = predict_posteriors(pipe, load_recording(data, "test", rec_id, columns=recording_columns(data)))
        np.testing.assert_allclose(from_files[list(EMOTIONS)], posteriors[list(EMOTIONS)], atol=1e-6)


def recording_columns(data):
    """The train split's source column names as written in its files (what make_features reads test with)."""
    columns, errors = read_split_columns(data, "train", False)
    assert not errors
    return columns


# --------------------------------------------------------------------------- small handmade datasets


def _labels(times):
    rows = [f"{t:.2f}," + ",".join("1" if k == i % 2 else "0" for k in range(6)) + ",0.9"
            for i, t in enumerate(times)]
    return "\n".join(["Time," + ",".join(EMOTIONS) + ",Agreement score", *rows]) + "\n"


def _template(times):
    return "\n".join(["Time," + ",".join(EMOTIONS), *[f"{t:.2f},0,0,0,0,0,0" for t in times]]) + "\n"


def _stream(names, rate, t0, seconds, seed):
    rng = np.random.default_rng(seed)
    times = t0 + np.arange(0, seconds, 1 / rate)
    rows = [f"{t:.4f}," + ",".join(f"{v:.3f}" for v in rng.uniform(0.5, 1.5, len(names))) for t in times]
    return "\n".join([",".join(["Time", *names]), *rows]) + "\n"


def small_dataset(root, test_modalities=("audio", "physio")):
    """Train: 4 recordings with audio (3 columns, 100 Hz) and physio (2 columns, 32 Hz); test: 2."""
    root = Path(root)
    grid = np.round(20.0 + np.arange(600) * 0.01, 2)
    for split, n in (("train", 4), ("test", 2)):
        for k in range(n):
            rec_id = f"id{split[:2]}{k:06d}"
            folder = "labels" if split == "train" else "prediction"
            (root / split / folder).mkdir(parents=True, exist_ok=True)
            (root / split / folder / f"{rec_id}.csv").write_text(_labels(grid) if split == "train" else _template(grid))
            for modality, names, rate in (("audio", ("f0", "loud", "mfcc1"), 100), ("physio", ("eda", "bvp"), 32)):
                if split == "train" or modality in test_modalities:
                    (root / split / modality).mkdir(exist_ok=True)
                    text = _stream(names, rate, 20.0, 6.0, seed=k)
                    (root / split / modality / f"{rec_id}.csv").write_text(text)
    return root


def test_measured_rates_align_a_fifth_modality(tmp_path):
    root = small_dataset(tmp_path)
    rec = load_recording(root, "train", "idtr000000")
    assert list(rec.streams) == ["audio", "physio"]
    assert rec.columns == {"audio": ("f0", "loud", "mfcc1"), "physio": ("eda", "bvp")}
    assert rec.rates == {"audio": 100.0, "physio": 32.0}
    # a 32 Hz sample is held for 2.5 of its periods: every frame of the 6 s is covered
    assert rec.present["physio"].all() and rec.streams["physio"].shape == (600, 2)
    assert measured_rate([0.0, 1 / 32, 2 / 32, 4 / 32]) == 32.0  # a dropped sample does not move the median
    assert measured_rate(20.0 + np.arange(10) * 0.067) == 15.0


def test_a_file_with_other_columns_than_its_modality_is_named(tmp_path, capsys):
    root = small_dataset(tmp_path)
    victim = root / "train" / "audio" / "idtr000002.csv"
    victim.write_text(_stream(("f0", "loud", "mfcc1", "mfcc2"), 100, 20.0, 6.0, seed=9))
    with pytest.raises(DataFormatError, match=r"idtr000002\.csv, line 1: header names 4 features, the other audio"):
        load_split(root, "train")
    assert main(["-q", "features", "--data", str(root), "--build", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(victim) in err and "Traceback" not in err
    # renamed, same width: also another schema
    victim.write_text(_stream(("f0", "loudness", "mfcc1"), 100, 20.0, 6.0, seed=9))
    with pytest.raises(DataFormatError, match=r"idtr000002\.csv, line 1: header column 3 is 'loudness'"):
        load_split(root, "train")


def test_a_header_without_time_first_is_named(tmp_path, capsys):
    root = small_dataset(tmp_path)
    victim = root / "train" / "physio" / "idtr000001.csv"
    lines = victim.read_text().splitlines()
    victim.write_text("\n".join(["eda,Time,bvp", *lines[1:]]) + "\n")
    assert main(["-q", "features", "--data", str(root), "--build", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{victim}, line 1" in err and "must be Time, found 'eda'" in err


def test_test_columns_must_be_the_train_columns(tmp_path, capsys):
    root = small_dataset(tmp_path)
    victim = root / "test" / "physio" / "idte000001.csv"
    victim.write_text(_stream(("eda", "bvp", "temp"), 32, 20.0, 6.0, seed=3))
    assert main(["-q", "features", "--data", str(root), "--build", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert str(victim) in err and "header names 3 features, the other physio files have 2" in err


def test_modalities_of_train_missing_at_test_or_added_are_warned_about(tmp_path):
    root = small_dataset(tmp_path, test_modalities=("audio",))
    (root / "test" / "video").mkdir()
    (root / "test" / "video" / "idte000000.csv").write_text(_stream(("motion",), 25, 20.0, 6.0, seed=1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_features(root, tmp_path / "b", splits=("train", "test"))
    messages = [str(w.message) for w in caught]
    assert any("'physio' has no folder" in m and "absent" in m for m in messages)
    assert any("'video'" in m and "ignored" in m for m in messages)
    train = pd.read_parquet(tmp_path / "b" / "features" / "train.parquet")
    test = pd.read_parquet(tmp_path / "b" / "features" / "test.parquet")
    assert list(test.columns) == list(train.columns) and not any(c.startswith("video__") for c in test.columns)
    assert (test["physio__missing_frac"] == 1).all() and test["physio__eda__mean"].isna().all()
    assert (train["physio__missing_frac"] < 1).all()


def test_one_posterior_file_is_written_per_template_in_either_format(tmp_path):
    from emo_gbm.posteriors import _write_posterior_file

    template = tmp_path / "id00000001.csv"
    template.write_text("Time,Anger,Sad,Disgust,Happy,Scared,Neutral\n7.50,0,0,0,0,0,0\n7.51,0,0,0,0,0,0\n")
    proba = [[1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 3]]
    assert _write_posterior_file(tmp_path, template, proba, "parquet") == "id00000001.parquet"
    frame = pd.read_parquet(tmp_path / "id00000001.parquet")
    assert frame["Time"].tolist() == ["7.50", "7.51"]
    np.testing.assert_allclose(frame[list(EMOTIONS)].to_numpy()[1], [0, 0, 0, 0, 0.25, 0.75])
    out = tmp_path / "out"
    out.mkdir()
    assert _write_posterior_file(out, template, proba, "csv") == "id00000001.csv"
    assert (out / "id00000001.csv").read_text().splitlines()[2] == "7.51,0.000000,0.000000,0.000000,0.000000,0.250000,0.750000"
    with pytest.raises(ValueError, match=r"posteriors of id00000001 have shape \(1, 6\), its template .* has 2 rows"):
        _write_posterior_file(out, template, proba[:1], "csv")
