"""Window features: exact statistics, missing-data handling, labels and invariances."""

import numpy as np
import pandas as pd
import pytest

from emo_gbm.constants import EYE_FLAG_COLUMNS, MODALITIES, N_FEATURES
from emo_gbm.recording import Recording
from emo_gbm.windows import (
    CONTINUOUS_STATISTICS,
    FEATURE_SETS,
    META_COLUMNS,
    WindowFeaturizer,
    feature_names,
    featurize_recording,
    resolve_statistics,
    window_starts,
)


def random_recording(rec_id, n_frames, seed, missing_rate=0.3, actor=None, offset=0.0):
    """A recording of random streams with random missing frames and NaN cells."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(rng.integers(0, 6, n_frames // 50 + 1), 50)[:n_frames].astype(np.int8)
    rec = Recording.empty(
        rec_id,
        offset + np.arange(n_frames) / 100,
        labels=labels,
        agreement=rng.random(n_frames).astype(np.float32),
    )
    for modality in MODALITIES:
        stream = rng.normal(loc=3.0, size=(n_frames, N_FEATURES[modality])).astype(np.float32)
        if modality == "eyes":
            stream[:, list(EYE_FLAG_COLUMNS)] = rng.random((n_frames, 2)) < 0.4
        present = rng.random(n_frames) > missing_rate
        present[rng.integers(0, n_frames) :][: rng.integers(0, n_frames // 3)] = False  # a blank stretch
        stream[~present] = np.nan
        stream[rng.random(stream.shape) < 0.01] = np.nan  # stray empty cells
        rec.streams[modality] = stream
        rec.present[modality] = present
    if actor is not None:
        rec.meta = {"session": "s1", "actor": actor}
    return rec


def reference_statistics(values, flags=False, recording_values=None):
    """Slow per-window statistics of one column with pandas/numpy, NaN for no values;
    ``recording_values``: the whole recording's column, for ``mean_dev``."""
    finite = values[np.isfinite(values)]
    out = {}
    if finite.size == 0:
        nan_stats = ["flag_frac", "flag_rise_rate"] if flags else list(CONTINUOUS_STATISTICS)
        return {s: np.nan for s in nan_stats}
    if flags:
        out["flag_frac"] = np.mean(finite > 0.5)
        series = pd.Series(values)
        rises = ((series > 0.5) & (series.shift(1) <= 0.5)).sum()  # NaN comparisons are False
        out["flag_rise_rate"] = rises / (finite.size / 100)
        return out
    out["mean"] = finite.mean()
    out["std"] = finite.std()
    out["min"] = finite.min()
    out["max"] = finite.max()
    for name, q in (("q10", 0.1), ("q50", 0.5), ("q90", 0.9)):
        out[name] = np.quantile(finite, q)
    steps = pd.Series(values).diff().abs().dropna()
    out["mean_abs_diff"] = steps.mean() if len(steps) else np.nan
    t = np.flatnonzero(np.isfinite(values)) / 100
    out["slope"] = np.polyfit(t, finite, 1)[0] if finite.size >= 2 else np.nan
    if recording_values is not None:
        out["mean_dev"] = finite.mean() - np.nanmean(recording_values)
    return out


def test_window_starts_cover_every_frame():
    for n_frames in (1, 399, 400, 401, 950, 4123):
        starts = window_starts(n_frames, 400, 100)
        covered = np.zeros(n_frames, dtype=bool)
        for s in starts:
            covered[s : s + 400] = True
        assert covered.all()
        assert starts.min() >= 0 and (starts + 400 <= max(n_frames, 400)).all()


def test_statistics_equal_slow_reference_on_random_data():
    rec = random_recording("idaaaaaaaa", 730, seed=1)
    table = featurize_recording(rec, length=200, hop=70, stats="default")
    assert list(table.columns[: len(META_COLUMNS)]) == list(META_COLUMNS)
    checked = 0
    for _, row in table.iterrows():
        start, stop = int(row["start"]), int(row["stop"])
        for modality, columns in (("audio", [0, 35]), ("eyes", [0, 4, 5]), ("kinect", [26])):
            for j in columns:
                column = rec.streams[modality][:, j].astype(np.float64)
                window = column[start:stop]
                is_flag = modality == "eyes" and j in EYE_FLAG_COLUMNS
                for stat, expected in reference_statistics(window, flags=is_flag, recording_values=column).items():
                    got = row[f"{modality}__f{j:03d}__{stat}"]
                    if np.isnan(expected):
                        assert np.isnan(got), (modality, j, stat)
                    else:
                        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5, err_msg=f"{modality} {j} {stat}")
                    checked += 1
    assert checked > 300


def test_missing_fraction_is_share_of_absent_frames():
    rec = random_recording("idaaaaaaaa", 600, seed=2)
    table = featurize_recording(rec, length=250, hop=100, stats="minimal")
    for _, row in table.iterrows():
        for modality in MODALITIES:
            expected = 1 - rec.present[modality][int(row["start"]) : int(row["stop"])].mean()
            assert row[f"{modality}__missing_frac"] == pytest.approx(expected, abs=1e-6)


def test_absent_modality_gives_nan_statistics_not_zero():
    rec = random_recording("idaaaaaaaa", 900, seed=3)
    rec.streams["face_nn"][:] = np.nan
    rec.present["face_nn"][:] = False
    rec.present["kinect"][:400] = False
    rec.streams["kinect"][:400] = np.nan
    table = featurize_recording(rec, length=400, hop=100)
    face = table[[c for c in table.columns if c.startswith("face_nn__f")]]
    assert face.isna().all().all()
    assert (table["face_nn__missing_frac"] == 1).all()
    first = table.iloc[0]
    kinect_stats = [c for c in table.columns if c.startswith("kinect__f")]
    assert first[kinect_stats].isna().all()
    assert first["kinect__missing_frac"] == 1
    assert table.iloc[1][kinect_stats].notna().any()


def test_recording_with_no_modality_still_gets_windows():
    rec = Recording.empty("idbbbbbbbb", np.arange(250) / 100)
    table = WindowFeaturizer().fit_transform([rec])
    assert len(table) == 1 and table["stop"].iloc[0] == 250
    features = table[WindowFeaturizer().fit().get_feature_names_out()]
    missing = [c for c in features.columns if c.endswith("missing_frac")]
    assert (features[missing] == 1).all().all()
    assert features.drop(columns=missing).isna().all().all()
    assert table["label"].iloc[0] == -1


def test_short_recording_statistics_use_only_real_frames():
    rec = random_recording("idaaaaaaaa", 150, seed=4, missing_rate=0.0)
    table = featurize_recording(rec, length=400, hop=100, stats=["mean", "max"])
    column = rec.streams["audio"][:, 3]
    assert table["audio__f003__mean"].iloc[0] == pytest.approx(np.nanmean(column), rel=1e-5)
    assert table["audio__f003__max"].iloc[0] == pytest.approx(np.nanmax(column))
    assert table["audio__missing_frac"].iloc[0] == pytest.approx(1 - rec.present["audio"].mean())


def test_window_label_is_agreement_weighted_majority():
    n = 400
    labels = np.zeros(n, dtype=np.int8)
    labels[:150] = 3  # the minority by count, but annotators agree on it much more
    agreement = np.full(n, 0.2, dtype=np.float32)
    agreement[:150] = 0.9
    rec = Recording.empty("idcccccccc", np.arange(n) / 100, labels=labels, agreement=agreement)
    table = featurize_recording(rec, length=400, hop=100, stats="minimal")
    assert table["label"].iloc[0] == 3
    assert table["weight"].iloc[0] == pytest.approx(agreement.mean())
    rec.agreement = np.zeros(n, dtype=np.float32)  # no agreement anywhere: plain majority
    assert featurize_recording(rec, 400, 100, "minimal")["label"].iloc[0] == 0


def test_features_do_not_depend_on_clock_offset_order_or_n_jobs():
    recs = [random_recording(f"id{i:08x}", 500 + 37 * i, seed=i, actor=f"A{i % 2}") for i in range(4)]
    base = WindowFeaturizer(length=200, hop=50).fit_transform(recs)
    shifted = [random_recording(f"id{i:08x}", 500 + 37 * i, seed=i, actor=f"A{i % 2}", offset=83.32) for i in range(4)]
    pd.testing.assert_frame_equal(WindowFeaturizer(length=200, hop=50).fit_transform(shifted), base)
    reordered = WindowFeaturizer(length=200, hop=50).fit_transform(recs[::-1])
    reordered = reordered.sort_values(["rec_id", "start"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(reordered, base.sort_values(["rec_id", "start"]).reset_index(drop=True))
    pd.testing.assert_frame_equal(WindowFeaturizer(length=200, hop=50, n_jobs=2).fit_transform(recs), base)
    assert set(base["group"]) == {"A0", "A1"}


def test_output_columns_match_feature_names_and_are_float32():
    featurizer = WindowFeaturizer(stats="moments", modalities=("eyes", "kinect")).fit()
    table = featurizer.transform([random_recording("idaaaaaaaa", 450, seed=5)])
    names = list(featurizer.get_feature_names_out())
    assert list(table.columns) == list(META_COLUMNS) + names
    assert all(table[c].dtype == np.float32 for c in names)
    assert names == feature_names(("eyes", "kinect"), "moments")
    assert "eyes__f004__flag_frac" in names and "eyes__f004__mean" not in names
    by_modality = featurizer.feature_names_by_modality()
    assert sum(len(v) for v in by_modality.values()) == len(names)


def test_feature_sets_and_bad_parameters():
    assert resolve_statistics("default") == FEATURE_SETS["default"]
    with pytest.raises(ValueError, match="unknown feature set"):
        resolve_statistics("everything")
    with pytest.raises(ValueError, match="unknown statistics"):
        resolve_statistics(["mean", "kurtosis"])
    with pytest.raises(ValueError, match="hop"):
        WindowFeaturizer(hop=0).fit()
    with pytest.raises(ValueError, match="modalities"):
        WindowFeaturizer(modalities=["video"]).fit()
