"""openSMILE's voiced-only descriptors: read over voiced frames, with the voiced share; the
columns as given and the reference untouched."""

import numpy as np
import pandas as pd
import pytest

from emo_gbm.data.recording import Recording
from emo_gbm.features import (
    VOICED_ONLY,
    WindowFeaturizer,
    columns_from_feature_names,
    feature_names,
    featurize_recording,
    voicing_columns,
)
from emo_gbm.pipelines import get_pipeline

AUDIO = ("Loudness_sma3", "F0semitoneFrom27.5Hz_sma3nz", "F1frequency_sma3nz", "F1amplitudeLogRelF0_sma3nz",
         "HNRdBACF_sma3nz")


def speech_recording(n_frames=1000, seed=0):
    """Audio with openSMILE's codes: unvoiced frames have F0 and HNR 0 and the formant
    amplitude -201; a silent stretch is all-zero rows (missing), and one F0 cell is NaN."""
    rng = np.random.default_rng(seed)
    rec = Recording.empty("idvoice001", np.arange(n_frames) / 100, labels=np.zeros(n_frames, dtype=np.int8),
                          agreement=np.ones(n_frames, dtype=np.float32), columns={"audio": AUDIO})
    stream = np.column_stack([
        rng.random(n_frames) + 0.5,              # loudness: every frame
        rng.normal(30, 3, n_frames),             # F0 (semitones)
        rng.normal(700, 50, n_frames),           # F1 frequency: every frame
        rng.normal(-60, 10, n_frames),           # F1 amplitude relative to F0
        rng.normal(8, 2, n_frames),              # HNR
    ]).astype(np.float32)
    voiced = (np.arange(n_frames) // 37) % 3 != 0
    stream[~voiced, 1] = 0.0
    stream[~voiced, 3] = -201.0
    stream[~voiced, 4] = 0.0
    present = np.ones(n_frames, dtype=bool)
    present[600:700] = False
    stream[~present] = 0.0
    stream[450, 1] = np.nan
    rec.streams["audio"], rec.present["audio"] = stream, present
    return rec, voiced, present


def test_voicing_columns_name_the_voiced_only_descriptors_and_the_voiced_share():
    assert voicing_columns(AUDIO) == (
        "F0semitoneFrom27.5Hz_sma3nz_voiced", "F1amplitudeLogRelF0_sma3nz_voiced", "HNRdBACF_sma3nz_voiced", "voiced")
    assert "F1frequency_sma3nz" not in VOICED_ONLY  # computed on every frame by openSMILE
    assert voicing_columns(("HNRdBACF_sma3nz",)) == ("HNRdBACF_sma3nz_voiced",)  # no F0: no share
    assert voicing_columns(("c000", "c001")) == ()
    # a column of the data already called "voiced" keeps its name; the added one is made unique
    assert voicing_columns(("F0semitoneFrom27.5Hz_sma3nz", "voiced"))[-1] == "voiced_2"


def test_statistics_of_voiced_only_descriptors_are_over_voiced_frames():
    rec, voiced, present = speech_recording()
    table = featurize_recording(rec, length=400, hop=100, stats="default", voicing=True)
    plain = featurize_recording(rec, length=400, hop=100, stats="default")
    both = featurize_recording(rec, length=400, hop=100, stats="default", voicing="both")
    # "both" holds the columns as given, with the statistics they have without voicing, and
    # the voiced reading, with the statistics it has on its own
    pd.testing.assert_frame_equal(both[plain.columns], plain)
    pd.testing.assert_frame_equal(both[table.columns], table)
    # the voiced reading takes each voiced-only descriptor's place; the others are as given
    audio = [c.split("__")[1] for c in table.columns if c.startswith("audio__") and c.endswith("__mean")]
    assert audio == ["Loudness_sma3", "F0semitoneFrom27.5Hz_sma3nz_voiced", "F1frequency_sma3nz",
                     "F1amplitudeLogRelF0_sma3nz_voiced", "HNRdBACF_sma3nz_voiced", "voiced"]
    assert list(table.filter(like="F1frequency").columns) == list(plain.filter(like="F1frequency").columns)
    pd.testing.assert_frame_equal(table.filter(like="F1frequency"), plain.filter(like="F1frequency"))
    stream = rec.streams["audio"].astype(np.float64)
    for _, row in table.iterrows():
        frames = np.arange(row["start"], row["stop"])
        keep = present[frames] & voiced[frames]
        f0 = stream[frames, 1][keep]
        f0 = f0[np.isfinite(f0)]
        assert row["audio__F0semitoneFrom27.5Hz_sma3nz_voiced__mean"] == pytest.approx(f0.mean(), rel=1e-5)
        amplitude = stream[frames, 3][keep]
        assert row["audio__F1amplitudeLogRelF0_sma3nz_voiced__min"] == pytest.approx(amplitude.min(), rel=1e-5)
        # the share of voiced frames among those present with a known F0
        known = present[frames] & np.isfinite(stream[frames, 1])
        assert row["audio__voiced__mean"] == pytest.approx(voiced[frames][known].mean(), rel=1e-5)
    # the recording's level behind mean_dev is the voiced frames' too
    f0 = stream[:, 1][present & voiced]
    first = table.iloc[0]
    window = np.arange(0, 400)
    in_window = stream[window, 1][(present & voiced)[window]]
    assert first["audio__F0semitoneFrom27.5Hz_sma3nz_voiced__mean_dev"] == pytest.approx(
        np.nanmean(in_window) - np.nanmean(f0), rel=1e-4)


@pytest.mark.parametrize("voicing", [True, "both"])
def test_voicing_round_trips_through_feature_names_and_spares_the_reference(voicing):
    rec, _, _ = speech_recording()
    featurizer = WindowFeaturizer(voicing=voicing).fit([rec])
    names = list(featurizer.get_feature_names_out())
    assert names == feature_names(["audio"], "default", {"audio": AUDIO}, voicing=voicing)
    table = featurizer.transform([rec])
    assert list(table.columns[6:]) == names
    # read back from the table: the columns of the data
    assert columns_from_feature_names(table.columns) == {"audio": AUDIO}
    assert WindowFeaturizer(voicing=voicing).fit_columns(table.columns).get_feature_names_out().tolist() == names
    if voicing == "both":
        # the reference reads the columns as given, the default pipeline the voiced reading, from one table
        wanted = get_pipeline("reference").featurizer.fit_columns(table.columns).get_feature_names_out().tolist()
        assert wanted == feature_names(["audio"], "reference", {"audio": AUDIO})
        assert not any("voiced" in name for name in wanted) and "audio__F0semitoneFrom27.5Hz_sma3nz__mean" in wanted
        default = get_pipeline("stacked_gbm").featurizer.fit_columns(table.columns).get_feature_names_out().tolist()
        assert default == feature_names(["audio"], "default", {"audio": AUDIO}, voicing=True)
        assert set(default) <= set(names) and "audio__F0semitoneFrom27.5Hz_sma3nz__mean" not in default


def test_a_column_of_the_data_named_voiced_is_kept():
    columns = ("F0semitoneFrom27.5Hz_sma3nz", "voiced")
    for voicing in (False, True, "both"):
        names = feature_names(["audio"], ["mean"], {"audio": columns}, voicing=voicing)
        assert columns_from_feature_names(names) == {"audio": columns}, voicing
    assert feature_names(["audio"], ["mean"], {"audio": columns}, voicing=True) == [
        "audio__missing_frac", "audio__F0semitoneFrom27.5Hz_sma3nz_voiced__mean", "audio__voiced__mean",
        "audio__voiced_2__mean"]


def test_a_featurizer_saved_before_voicing_reads_the_columns_as_given():
    rec, _, _ = speech_recording()
    featurizer = WindowFeaturizer().fit([rec])
    expected = featurizer.transform([rec])
    del featurizer.voicing  # what a model file of an earlier release holds
    assert featurizer.window_params()["voicing"] is False and "voicing=" not in repr(featurizer)
    pd.testing.assert_frame_equal(featurizer.transform([rec]), expected)


def test_bad_voicing_is_refused():
    with pytest.raises(ValueError, match="voicing must be False, True or 'both'"):
        WindowFeaturizer(voicing="yes").fit()


def test_voicing_leaves_other_modalities_and_positional_columns_alone():
    rng = np.random.default_rng(1)
    rec = Recording.empty("idvoice002", np.arange(600) / 100, columns={"audio": ("c000", "c001"), "eyes": ("a", "b")})
    for modality in ("audio", "eyes"):
        stream = rng.normal(size=(600, 2)).astype(np.float32)
        stream[::5] = 0.0
        rec.streams[modality], rec.present[modality] = stream, np.ones(600, dtype=bool)
    for voicing in (True, "both"):
        pd.testing.assert_frame_equal(featurize_recording(rec, length=400, hop=100, voicing=voicing),
                                      featurize_recording(rec, length=400, hop=100))


@pytest.mark.parametrize("voicing", [True, "both"])
def test_absent_audio_gets_nan_voicing_statistics(voicing):
    rec, _, _ = speech_recording()
    featurizer = WindowFeaturizer(voicing=voicing).fit([rec])
    empty = Recording.empty("idvoice003", np.arange(500) / 100, columns={"audio": AUDIO})
    del empty.streams["audio"], empty.present["audio"]
    table = featurizer.transform([empty])
    assert list(table.columns[6:]) == list(featurizer.get_feature_names_out())
    assert table["audio__missing_frac"].eq(1).all()
    assert table.filter(like="voiced").isna().all().all()
