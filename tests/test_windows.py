"""Window features: exact statistics, missing-data handling, labels and invariances."""

import numpy as np
import pandas as pd
import pytest

from emo_gbm.constants import EYE_FLAG_COLUMNS, MODALITIES, N_FEATURES
from emo_gbm.data.recording import Recording
from emo_gbm.features import (
    ACF_LAG,
    ACF_MIN_PAIRS,
    CONTINUOUS_STATISTICS,
    DYNAMICS_STATISTICS,
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
        nan_stats = ["flag_frac", "flag_rise_rate"] if flags else [
            s for s in CONTINUOUS_STATISTICS if s not in DYNAMICS_STATISTICS]
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


def reference_dynamics(window, recording_values):
    """Slow :data:`DYNAMICS_STATISTICS` of one column's window (float64, NaN = missing), by a
    plain loop over its frames; ``recording_values``: the whole recording's column."""
    present = np.isfinite(window)
    values = window[present]
    if values.size == 0:
        return {s: np.nan for s in DYNAMICS_STATISTICS}
    mean = values.mean()
    out = {}
    jumps = [window[t + ACF_LAG] - window[t] for t in range(len(window) - ACF_LAG)
             if present[t] and present[t + ACF_LAG]]
    if len(jumps) < ACF_MIN_PAIRS or values.std() == 0:
        out["acf"] = np.nan
    else:
        out["acf"] = max(1 - np.mean(np.square(jumps)) / (2 * values.var()), -1.0)
    level = np.float32(mean)  # the mean is compared at the stream's precision
    steps = crossings = 0
    for t in range(len(window) - 1):
        if present[t] and present[t + 1]:
            steps += 1
            crossings += (window[t] >= level) != (window[t + 1] >= level)
    out["crossing_rate"] = crossings / (values.size / 100) if steps else np.nan
    first, second = window[: len(window) // 2], window[len(window) // 2 :]
    if np.isfinite(first).any() and np.isfinite(second).any():
        out["half_diff"] = np.nanmean(second) - np.nanmean(first)
    else:
        out["half_diff"] = np.nan
    out["std_rel"] = values.std() / np.nanstd(recording_values)
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
                    got = row[f"{modality}__c{j:03d}__{stat}"]
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
    face = table[[c for c in table.columns if c.startswith("face_nn__c")]]
    assert face.isna().all().all()
    assert (table["face_nn__missing_frac"] == 1).all()
    first = table.iloc[0]
    kinect_stats = [c for c in table.columns if c.startswith("kinect__c")]
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
    assert table["audio__c003__mean"].iloc[0] == pytest.approx(np.nanmean(column), rel=1e-5)
    assert table["audio__c003__max"].iloc[0] == pytest.approx(np.nanmax(column))
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
    assert "eyes__c004__flag_frac" in names and "eyes__c004__mean" not in names
    by_modality = featurizer.feature_names_by_modality()
    assert sum(len(v) for v in by_modality.values()) == len(names)


def test_feature_sets_and_bad_parameters():
    assert resolve_statistics("default") == FEATURE_SETS["default"]
    assert resolve_statistics("dynamics") == FEATURE_SETS["dynamics"]
    with pytest.raises(ValueError, match="unknown feature set"):
        resolve_statistics("everything")
    with pytest.raises(ValueError, match="unknown statistics"):
        resolve_statistics(["mean", "kurtosis"])
    with pytest.raises(ValueError, match="hop"):
        WindowFeaturizer(hop=0).fit()
    with pytest.raises(ValueError, match="video"):
        WindowFeaturizer(modalities=["video"]).fit()  # no recording tells its columns


def test_dynamics_statistics_equal_slow_reference_with_gaps():
    rec = random_recording("idaaaaaaaa", 730, seed=6, missing_rate=0.2)
    # The held 50 fps face and 15 fps kinect streams: each sample repeated on the 100 fps grid.
    rec.streams["face_nn"][:, 1] = np.repeat(rec.streams["face_nn"][::2, 1], 2)[:730]
    rec.streams["kinect"][:, 2] = np.repeat(rec.streams["kinect"][::7, 2], 7)[:730]
    rec.streams["audio"][140:340, 0] = np.nan  # window [140, 340): one present frame, ...
    rec.streams["audio"][250, 0] = 1.5
    rec.present["audio"][250] = True
    rec.streams["audio"][400:630, 4] = np.nan  # ... window [420, 620): none
    rec.streams["audio"][0:220:2, 5] = np.nan  # every other frame: window [0, 200) has no step
    table = featurize_recording(rec, length=200, hop=70, stats="dynamics")
    assert table["start"].tolist()[-2:] == [490, 530]  # the last window is aligned to the end
    columns = (("audio", [0, 1, 4, 5]), ("face_nn", [1, 99]), ("eyes", [0, 3]), ("kinect", [2, 26]))
    seen_nan = set()
    for _, row in table.iterrows():
        start, stop = int(row["start"]), int(row["stop"])
        for modality, js in columns:
            for j in js:
                column = np.where(rec.present[modality], rec.streams[modality][:, j], np.nan)
                expected = reference_dynamics(column[start:stop], column)
                for stat, value in expected.items():
                    got = row[f"{modality}__c{j:03d}__{stat}"]
                    if np.isnan(value):
                        assert np.isnan(got), (modality, j, stat, start)
                        seen_nan.add(stat)
                    else:
                        np.testing.assert_allclose(got, value, rtol=2e-5, atol=2e-5,
                                                   err_msg=f"{modality} {j} {stat} {start}")
    assert seen_nan == set(DYNAMICS_STATISTICS)  # every NaN rule was exercised
    one_frame = table[table["start"] == 140].iloc[0]
    assert one_frame["audio__c000__std_rel"] == 0 and np.isnan(one_frame["audio__c000__acf"])
    assert np.isnan(table[table["start"] == 0].iloc[0]["audio__c005__crossing_rate"])


def test_dynamics_set_adds_columns_without_changing_default_ones():
    rec = random_recording("idaaaaaaaa", 900, seed=7)
    default = featurize_recording(rec, length=400, hop=100, stats="default")
    dynamics = featurize_recording(rec, length=400, hop=100, stats="dynamics")
    pd.testing.assert_frame_equal(dynamics[default.columns], default)
    assert resolve_statistics("default") == [s for s in resolve_statistics("dynamics") if s not in DYNAMICS_STATISTICS]
    assert resolve_statistics("dynamics")[-6:] == list(DYNAMICS_STATISTICS) + ["flag_frac", "flag_rise_rate"]
    assert CONTINUOUS_STATISTICS[-len(DYNAMICS_STATISTICS):] == DYNAMICS_STATISTICS
    names = feature_names(MODALITIES, "dynamics")
    extra = sum(N_FEATURES.values()) - len(EYE_FLAG_COLUMNS)  # continuous columns
    assert len(names) == len(feature_names(MODALITIES, "default")) + extra * len(DYNAMICS_STATISTICS)
    featurizer = WindowFeaturizer(stats="dynamics", length=400, hop=100).fit()
    table = featurizer.transform([rec])
    assert list(table.columns) == list(META_COLUMNS) + names == list(META_COLUMNS) + list(dynamics.columns[6:])
    assert "kinect__c026__acf" in names and "eyes__c004__acf" not in names


def test_dynamics_do_not_depend_on_time_offset_or_level():
    base = featurize_recording(random_recording("idaaaaaaaa", 1100, seed=8), 400, 100, "dynamics")
    shifted = random_recording("idaaaaaaaa", 1100, seed=8, offset=57.13)
    pd.testing.assert_frame_equal(featurize_recording(shifted, 400, 100, "dynamics"), base)
    raised = random_recording("idaaaaaaaa", 1100, seed=8)
    for modality in MODALITIES:
        continuous = np.setdiff1d(np.arange(N_FEATURES[modality]), EYE_FLAG_COLUMNS if modality == "eyes" else [])
        rec_stream = raised.streams[modality]
        rec_stream[:, continuous] += np.float32(5.0) * (1 + continuous % 3)  # a constant per column
    moved = featurize_recording(raised, 400, 100, "dynamics")
    columns = [c for c in base.columns if c.split("__")[-1] in DYNAMICS_STATISTICS]
    # The added constant is rounded to float32 with each value: equal up to that rounding.
    np.testing.assert_allclose(moved[columns].to_numpy(), base[columns].to_numpy(), rtol=1e-4, atol=1e-5)


def test_crossing_rate_of_a_sine_counts_two_crossings_per_period():
    n, frequency = 2400, 1.3
    rec = Recording.empty("idaaaaaaaa", np.arange(n) / 100)
    sine = np.sin(2 * np.pi * frequency * np.arange(n) / 100 + 0.3)
    rec.streams["audio"][:, 0] = sine
    rec.streams["kinect"][:, 0] = np.repeat(sine[::7], 7)[:n]  # held like a 15 fps stream
    for modality in ("audio", "kinect"):
        rec.present[modality][:] = True
    table = featurize_recording(rec, length=400, hop=100, stats="dynamics", modalities=("audio", "kinect"))
    for modality in ("audio", "kinect"):
        # A 4 s window holds 10.4 crossings: 10 or 11 of them, 2.5 or 2.75 per second.
        rates = table[f"{modality}__c000__crossing_rate"]
        assert rates.isin([2.5, 2.75]).all(), rates.tolist()
        assert rates.mean() == pytest.approx(2 * frequency, abs=0.1)


@pytest.mark.parametrize("phi", [0.9, 0.0, -0.5])
def test_acf_of_an_ar1_process_is_phi_to_the_lag(phi):
    from scipy.signal import lfilter

    n = 40000
    noise = np.random.default_rng(9).normal(size=n)
    rec = Recording.empty("idaaaaaaaa", np.arange(n) / 100)
    rec.streams["audio"][:, 0] = lfilter([1.0], [1.0, -phi], noise)
    rec.present["audio"][:] = True
    table = featurize_recording(rec, length=1000, hop=1000, stats=["acf"], modalities=["audio"])
    acf = table["audio__c000__acf"]
    assert acf.between(-1, 1).all()
    # 40 windows: standard error ~0.011, the window-mean bias ~-0.01 at phi = 0.9.
    assert acf.mean() == pytest.approx(phi**ACF_LAG, abs=0.04)


def test_flat_signals_give_nan_acf_and_no_crossings():
    n = 800
    rec = Recording.empty("idaaaaaaaa", np.arange(n) / 100)
    rec.present["audio"][:] = True
    rec.streams["audio"][:, 0] = 0.1  # constant over the recording
    rec.streams["audio"][:, 1] = np.where(np.arange(n) < 400, 0.3, np.sin(np.arange(n)))  # flat first window
    table = featurize_recording(rec, length=400, hop=100, stats="dynamics", modalities=["audio"])
    assert table["audio__c000__acf"].isna().all() and table["audio__c000__std_rel"].isna().all()
    assert (table["audio__c000__crossing_rate"] == 0).all() and (table["audio__c000__half_diff"] == 0).all()
    first = table.iloc[0]
    assert np.isnan(first["audio__c001__acf"]) and first["audio__c001__std_rel"] == 0
    assert first["audio__c001__crossing_rate"] == 0 and first["audio__c001__half_diff"] == 0


def test_each_statistic_alone_equals_it_among_all():
    """The steps of _column_statistics compute what a statistic needs whatever else is asked
    (to rounding: with half_diff the window sums are cut at the windows' middles too)."""
    from emo_gbm.features._sets import STATISTICS
    from emo_gbm.features._statistics import _column_statistics

    rec = random_recording("idaaaaaaab", 530, seed=4)
    values = rec.streams["eyes"][:, :6]
    starts = window_starts(530, 200, 50)
    stops = np.minimum(starts + 200, 530)
    everything = _column_statistics(values, starts, stops, 200, list(STATISTICS))
    for k, stat in enumerate(STATISTICS):
        alone = _column_statistics(values, starts, stops, 200, [stat])[..., 0]
        np.testing.assert_allclose(alone, everything[..., k], rtol=1e-12, atol=1e-12, err_msg=stat)


def test_statistics_steps_on_small_inputs():
    from emo_gbm.constants import FRAME_RATE
    from emo_gbm.features._statistics import _centred, _slope, _step_statistics, _window_statistics

    values = np.array([[1.0, np.nan], [3.0, np.nan], [np.nan, np.nan], [5.0, np.nan]], dtype=np.float32)
    finite, filled, centre, centred, column_count = _centred(values)
    np.testing.assert_array_equal(centre, [3.0, 0.0])
    np.testing.assert_array_equal(column_count, [3, 0])
    np.testing.assert_array_equal(centred[:, 0], [-2.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(filled[:, 1], 0.0)
    starts, stops = np.array([0, 1]), np.array([4, 4])
    count = np.array([[3.0, 0.0], [2.0, 0.0]])
    # a line of 2 units per frame: its slope in units per second, NaN without 2 values
    line = np.array([[0.0], [2.0], [4.0], [6.0]])
    line_finite, _, _, line_centred, _ = _centred(line)
    slope = _slope(4, line_finite, line_centred, np.array([[4.0], [3.0]]), np.array([[0.0], [3.0]]), starts, stops)
    np.testing.assert_allclose(slope, [[2.0 * FRAME_RATE], [2.0 * FRAME_RATE]])
    results, n_steps = _step_statistics(finite, filled, count, starts, stops, {"mean_abs_diff", "flag_frac"})
    np.testing.assert_array_equal(n_steps[:, 0], [1.0, 0.0])  # only frames 0-1 are a step of present frames
    np.testing.assert_array_equal(results["mean_abs_diff"][:, 0], [2.0, np.nan])
    np.testing.assert_array_equal(results["flag_frac"][:, 0], [1.0, 1.0])
    assert _step_statistics(finite, filled, count, starts, stops, {"mean"}) == ({}, None)
    order = _window_statistics(values, np.array([0]), 4, ["min", "q50", "max"], None, count[:1], None)
    np.testing.assert_allclose([order[s][0, 0] for s in ("min", "q50", "max")], [1.0, 3.0, 5.0])
    assert np.isnan(order["q50"][0, 1])
