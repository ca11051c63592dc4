"""Reading the challenge layout: parsing, alignment to the frame grid, bad input, whole splits."""

import warnings
from pathlib import Path

import numpy as np
import pytest
from joblib import parallel_config

from emo_gbm.constants import EMOTIONS, MODALITIES, N_FEATURES, RATES
from emo_gbm.errors import BadFileWarning, DataFormatError
from emo_gbm.data.recording import positional_columns
from emo_gbm.data.io import (
    list_modalities,
    measured_rate,
    read_modality_columns,
    read_split_columns,
    align_stream,
    list_recordings,
    load_recording,
    load_split,
    read_labels,
    read_meta,
    read_modality,
    read_template,
)

EMODB = Path("/work/shared/data/emodb")
LABEL_HEADER = "Time," + ",".join(EMOTIONS) + ",Agreement score"
TEMPLATE_HEADER = "Time," + ",".join(EMOTIONS)


# --------------------------------------------------------------------------- file writers


def modality_text(modality, times, values, newline="\n"):
    """CSV text of a modality file as the contract lays it out."""
    n = N_FEATURES[modality]
    if modality in ("audio", "kinect"):
        first = ",".join(["Time"] + [f"feat{j}" for j in range(n)])
    else:
        first = "exported by the eye tracker, not data"
    rows = [f"{t:.4f}," + ",".join(repr(float(v)) for v in row) for t, row in zip(times, values)]
    return newline.join([first] + rows) + newline


def write(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def frame_grid(t0, n_frames):
    return np.round(t0 + 0.01 * np.arange(n_frames), 2)


def label_text(times, labels, agreement):
    rows = []
    for t, y, a in zip(times, labels, agreement):
        onehot = ["0"] * 6
        onehot[y] = "1"
        rows.append(f"{t:.2f}," + ",".join(onehot) + f",{a}")
    return "\n".join([LABEL_HEADER] + rows) + "\n"


def template_text(times):
    return "\n".join([TEMPLATE_HEADER] + [f"{t:.2f},0,0,0,0,0,0" for t in times]) + "\n"


def stream_values(modality, n_samples, seed):
    """Nonzero features (so no row reads as missing)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 1.5, size=(n_samples, N_FEATURES[modality])).round(3)


def make_dataset(root, t0=12.0, n_frames=200):
    """A tiny dataset: two train recordings, one test recording with answers, one without files.

    ``idtrain01`` has all four modalities, ``idtrain02`` only audio, ``idtest001`` eyes only,
    ``idtest002`` no modality file at all.
    """
    root = Path(root)
    grid = frame_grid(t0, n_frames)
    labels = np.arange(n_frames) % 6
    agreement = np.full(n_frames, 0.75)
    steps = {"audio": 0.01, "face_nn": 0.02, "eyes": 0.04, "kinect": 1 / 15}
    for split, rec_id, modalities in [
        ("train", "idtrain01", MODALITIES),
        ("train", "idtrain02", ("audio",)),
        ("test", "idtest001", ("eyes",)),
        ("test", "idtest002", ()),
    ]:
        if split == "train":
            write(root / split / "labels" / f"{rec_id}.csv", label_text(grid, labels, agreement))
        else:
            write(root / split / "prediction" / f"{rec_id}.csv", template_text(grid))
            write(root / "answers" / split / f"{rec_id}.csv", label_text(grid, labels, agreement))
        for k, modality in enumerate(modalities):
            times = t0 + np.arange(0, n_frames * 0.01, steps[modality])
            values = stream_values(modality, len(times), seed=k)
            write(root / split / modality / f"{rec_id}.csv", modality_text(modality, times, values))
    write(root / "meta.csv", "id,split,session,actor\nidtrain01,train,1,7\nidtest001,test,2,8\n")
    return root


def assert_recordings_equal(a, b):
    assert a.rec_id == b.rec_id
    np.testing.assert_array_equal(a.time, b.time)
    assert list(a.streams) == list(b.streams) and a.columns == b.columns and a.rates == b.rates
    for m in a.streams:
        np.testing.assert_array_equal(a.streams[m], b.streams[m])
        np.testing.assert_array_equal(a.present[m], b.present[m])
    for field in ("labels", "agreement"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)
    assert a.meta == b.meta


# --------------------------------------------------------------------------- reading modality files


@pytest.mark.parametrize("modality", MODALITIES)
def test_each_modality_reads_times_and_features(tmp_path, modality):
    times = np.array([5.0, 5.02, 5.04])
    values = stream_values(modality, 3, seed=1)
    path = write(tmp_path / f"{modality}.csv", modality_text(modality, times, values))
    got_times, got_values = read_modality(path, modality)
    assert got_times.dtype == np.float64 and got_values.dtype == np.float32
    np.testing.assert_allclose(got_times, times)
    np.testing.assert_allclose(got_values, values.astype(np.float32))


def test_first_line_of_eyes_is_skipped_even_when_it_looks_like_data(tmp_path):
    path = write(tmp_path / "eyes.csv", "0.00,9,9,9,9,9,9\n0.02,1,2,3,4,1,0\n")
    times, values = read_modality(path, "eyes")
    assert times.tolist() == [0.02]
    assert values[0].tolist() == [1, 2, 3, 4, 1, 0]


def test_header_row_of_audio_is_not_data(tmp_path):
    path = write(tmp_path / "audio.csv", modality_text("audio", [1.0], np.ones((1, 36))))
    times, _ = read_modality(path, "audio")
    assert times.tolist() == [1.0]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("trailing", [True, False])
def test_line_endings_and_missing_final_newline_are_tolerated(tmp_path, newline, trailing):
    text = modality_text("eyes", [0.0, 0.02], np.ones((2, 6)), newline=newline)
    if not trailing:
        text = text[: -len(newline)]
    times, values = read_modality(write(tmp_path / "eyes.csv", text), "eyes")
    assert times.tolist() == [0.0, 0.02] and values.shape == (2, 6)


def test_empty_and_nan_cells_are_missing_values(tmp_path):
    path = write(tmp_path / "eyes.csv", "skip\n0.00,1,,3,NaN,1,0\n0.02,1,2,3,nan,1,0\n")
    _, values = read_modality(path, "eyes")
    assert np.isnan(values[0, [1, 3]]).all() and np.isnan(values[1, 3])
    assert values[0, [0, 2, 4, 5]].tolist() == [1, 3, 1, 0]


def test_values_beyond_float32_range_and_inf_cells_become_missing_not_inf(tmp_path):
    path = write(tmp_path / "eyes.csv", "skip\n0.00,4.8e66,-1e40,inf,-inf,1,0\n0.02,1,2,3,4,1,0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "overflow encountered in cast" either
        _, values = read_modality(path, "eyes")
    assert np.isnan(values[0, :4]).all() and values[0, 4:].tolist() == [1, 0]
    assert np.isfinite(values[1]).all()


def test_unsorted_times_are_sorted_and_a_repeated_time_keeps_its_first_row(tmp_path):
    path = write(
        tmp_path / "eyes.csv",
        "skip\n0.04,4,4,4,4,4,4\n0.00,1,1,1,1,1,1\n0.02,2,2,2,2,2,2\n0.00,9,9,9,9,9,9\n",
    )
    times, values = read_modality(path, "eyes")
    assert times.tolist() == [0.0, 0.02, 0.04]
    assert values[:, 0].tolist() == [1, 2, 4]


# --------------------------------------------------------------------------- alignment


def test_late_start_and_early_end_leave_the_uncovered_frames_missing():
    grid = frame_grid(0.0, 100)
    times = frame_grid(0.30, 40)  # 0.30 .. 0.69 at 100 fps
    aligned, present = align_stream(times, np.ones((40, 2)), grid, RATES["audio"])
    # audio holds a sample 2.5 periods: frames 0.70 and 0.71 still take the 0.69 sample
    expected = (grid >= 0.295) & (grid <= 0.715)
    np.testing.assert_array_equal(present, expected)
    assert np.isnan(aligned[~present]).all() and (aligned[present] == 1).all()


def test_jittered_50fps_steps_cover_every_frame_between_samples():
    rng = np.random.default_rng(0)
    steps = rng.choice([0.02, 0.03, 0.04], size=60)
    times = np.round(1.0 + np.concatenate(([0.0], np.cumsum(steps))), 2)
    grid = frame_grid(1.0, int(round((times[-1] - 1.0) / 0.01)) + 1)
    values = np.arange(1, len(times) + 1, dtype=float)[:, None]
    aligned, present = align_stream(times, values, grid, RATES["eyes"])
    assert present.all()
    # every frame holds the latest sample at or before it
    latest = np.searchsorted(times, grid + 1e-9, side="right") - 1
    np.testing.assert_array_equal(aligned[:, 0], values[latest, 0])


def test_a_frame_between_two_samples_takes_the_earlier_one():
    aligned, present = align_stream([0.0, 0.04], [[1.0], [2.0]], [0.0, 0.01, 0.03, 0.04], RATES["eyes"])
    assert present.all() and aligned[:, 0].tolist() == [1, 1, 1, 2]


def test_a_sample_a_hair_after_its_frame_still_covers_it():
    noisy = 0.1 + 0.2  # 0.30000000000000004, as sums of steps come out
    aligned, present = align_stream([0.1, noisy], [[1.0], [2.0]], [0.3], RATES["audio"])
    assert present.tolist() == [True] and aligned[0, 0] == 2.0


def test_kinect_sample_is_held_two_and_a_half_periods():
    times = np.array([0.0, 1 / 15, 2 / 15])
    grid = frame_grid(0.0, 40)
    aligned, present = align_stream(times, np.ones((3, 27)), grid, RATES["kinect"])
    hold_end = 2 / 15 + 2.5 / 15  # 0.3 s
    np.testing.assert_array_equal(present, grid <= hold_end + 1e-9)


def test_a_gap_longer_than_the_hold_is_missing():
    aligned, present = align_stream([0.0, 0.20], [[1.0], [2.0]], frame_grid(0.0, 21), RATES["eyes"])
    assert present[:6].all() and not present[6:20].any() and present[20]


def test_all_zero_and_all_nan_rows_are_missing_but_partial_nan_stays_present():
    values = np.array([[1.0, 2.0], [0.0, 0.0], [np.nan, np.nan], [np.nan, 3.0]])
    aligned, present = align_stream([0.0, 0.01, 0.02, 0.03], values, [0.0, 0.01, 0.02, 0.03], RATES["audio"])
    assert present.tolist() == [True, False, False, True]
    assert np.isnan(aligned[1:3]).all()
    assert np.isnan(aligned[3, 0]) and aligned[3, 1] == 3.0


def test_no_samples_means_every_frame_missing():
    aligned, present = align_stream(np.zeros(0), np.zeros((0, 6)), frame_grid(0.0, 5), RATES["eyes"])
    assert aligned.shape == (5, 6) and not present.any() and np.isnan(aligned).all()


def test_shifting_every_clock_by_a_constant_changes_nothing():
    rng = np.random.default_rng(3)
    times = np.round(np.cumsum(rng.choice([0.02, 0.03, 0.04, 0.08], size=80)), 2)
    values = rng.normal(size=(80, 6))
    values[rng.random(80) < 0.2] = 0.0
    grid = frame_grid(0.0, 300)
    reference = align_stream(times, values, grid, RATES["eyes"])
    for shift in (0.37, 57.31, 119.99):
        shifted = align_stream(times + shift, values, grid + shift, RATES["eyes"])
        np.testing.assert_array_equal(shifted[0], reference[0])
        np.testing.assert_array_equal(shifted[1], reference[1])


def test_unsorted_sample_times_are_refused():
    with pytest.raises(ValueError, match="sorted"):
        align_stream([0.02, 0.0], [[1.0], [1.0]], [0.0], RATES["eyes"])


# --------------------------------------------------------------------------- rejecting bad files


def audio_rows(n_rows, n_features=36):
    return [f"{0.01 * i:.2f}," + ",".join(["1"] * n_features) for i in range(n_rows)]


def audio_header(n_features=36):
    return ",".join(["Time"] + [f"f{j}" for j in range(n_features)])


def contract_columns(modality):
    """The columns every file of a modality has in these tests (the contract's widths)."""
    if modality in ("audio", "kinect"):
        return tuple(f"f{j}" for j in range(N_FEATURES[modality]))
    return positional_columns(N_FEATURES[modality])


BAD_MODALITY_FILES = {
    # case: (modality, content, line expected in the message (None: no line), words expected)
    "too few features everywhere": (
        "audio", "\n".join([audio_header(35)] + audio_rows(3, 35)) + "\n", 1, "35 features",
    ),
    "eyes rows with wrong feature count": ("eyes", "skip\n0.0,1,1,1,1,1\n0.02,1,1,1,1,1\n", 2, "found 6"),
    "text in a numeric cell": (
        "audio", "\n".join([audio_header()] + audio_rows(4) + ["0.05,abc" + ",1" * 35]) + "\n", 6, "'abc'",
    ),
    "text in the time column": ("eyes", "skip\n0.0,1,1,1,1,1,1\nnoon,1,1,1,1,1,1\n", 3, "'noon'"),
    "row with too many cells": (
        "kinect", "\n".join([audio_header(27)] + audio_rows(3, 27) + ["0.5" + ",1" * 28]) + "\n", 5, "found 29",
    ),
    "row with too few cells, CRLF": (
        "audio",
        "\r\n".join([audio_header()] + audio_rows(2) + ["0.03,1,2"] + audio_rows(2)) + "\r\n",
        4,
        "found 3",
    ),
    "missing time": ("eyes", "skip\n0.0,1,1,1,1,1,1\n,1,1,1,1,1,1\n", 3, "Time"),
    "empty file": ("audio", "", None, "empty"),
    "whitespace only": ("eyes", "\n\n", None, "empty"),
    "header but no rows": ("audio", audio_header() + "\n", None, "no data rows"),
    "eyes first line only": ("eyes", "skip\n", None, "no data rows"),
    "no header row": ("audio", "\n".join(audio_rows(3)) + "\n", 1, "header"),
    "Time not the first column": (
        "audio", "\n".join(["f0,Time," + ",".join(f"f{j}" for j in range(1, 36))] + audio_rows(2)) + "\n", 1,
        "first column must be Time, found 'f0'",
    ),
    "another feature name": (
        "kinect", "\n".join([audio_header(27).replace(",f3,", ",speed,")] + audio_rows(2, 27)) + "\n", 1,
        "header column 5 is 'speed', the other kinect files have 'f3'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_MODALITY_FILES))
def test_bad_modality_file_is_rejected_naming_file_and_line(tmp_path, case):
    modality, content, line, words = BAD_MODALITY_FILES[case]
    path = write(tmp_path / "id0bad0001.csv", content)
    with pytest.raises(DataFormatError) as caught:
        read_modality(path, modality, contract_columns(modality))
    message = str(caught.value)
    assert message.startswith(str(path))
    assert caught.value.line == line
    if line is not None:
        assert f"line {line}:" in message
    assert words in message


@pytest.mark.parametrize(
    "content, line",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", 3),
        ("Time," + ",".join(["f"] * 36) + "\n0.0," + ",".join(["1"] * 35) + ",\xe9\n", 2),
    ],
    ids=["binary", "latin-1"],
)
def test_undecodable_file_is_rejected_naming_file_and_line(tmp_path, content, line):
    data = content if isinstance(content, bytes) else content.encode("latin-1")
    path = write(tmp_path / "id0bad0002.csv", data)
    with pytest.raises(DataFormatError, match="binary") as caught:
        read_modality(path, "audio" if not data.startswith(b"\x89") else "eyes")
    assert str(caught.value).startswith(str(path)) and caught.value.line == line


def test_binary_header_is_rejected(tmp_path):
    path = write(tmp_path / "id0bad0003.csv", b"\xff\xfe\x00T\x00i\n1,2\n")
    with pytest.raises(DataFormatError, match=r"line 1: .*binary"):
        read_modality(path, "audio")


def good_label_rows(n):
    return [f"{3 + 0.01 * i:.2f},1,0,0,0,0,0,0.8" for i in range(n)]


def label_file(*bad_rows, n_good=1):
    return "\n".join([LABEL_HEADER] + good_label_rows(n_good) + list(bad_rows)) + "\n"


BAD_LABEL_FILES = {
    "two ones": ("\n".join([LABEL_HEADER] + good_label_rows(3) + ["3.03,1,0,0,1,0,0,0.8"]) + "\n", 5, "found 2"),
    "no one": ("\n".join([LABEL_HEADER] + good_label_rows(2) + ["3.02,0,0,0,0,0,0,0.8"]) + "\n", 4, "found 0"),
    "two ones after a blank line": (
        "\n".join([LABEL_HEADER] + good_label_rows(1) + ["", "3.01,1,1,0,0,0,0,0.8"]) + "\n", 4, "found 2",
    ),
    "cell not 0 or 1": (label_file("3.01,0.5,0,0,0,0,1,0.8"), 3, "0 or 1"),
    "agreement above 1": (label_file("3.01,1,0,0,0,0,0,1.5"), 3, "[0, 1]"),
    "agreement missing": (label_file("3.01,1,0,0,0,0,0,"), 3, "[0, 1]"),
    "bad header": (LABEL_HEADER.replace("Sad", "Sadness") + "\n3.0,1,0,0,0,0,0,1\n", 1, "header"),
    "template header": (TEMPLATE_HEADER + "\n3.0,1,0,0,0,0,0\n", 1, "header"),
    "text cell": ("\n".join([LABEL_HEADER] + good_label_rows(2) + ["3.02,1,0,0,x,0,0,0.8"]) + "\n", 4, "'x'"),
}


@pytest.mark.parametrize("case", sorted(BAD_LABEL_FILES))
def test_bad_label_file_is_rejected_naming_file_and_line(tmp_path, case):
    content, line, words = BAD_LABEL_FILES[case]
    path = write(tmp_path / "idlabels1.csv", content)
    with pytest.raises(DataFormatError) as caught:
        read_labels(path)
    assert str(caught.value).startswith(f"{path}, line {line}:")
    assert words in str(caught.value)


def test_labels_give_class_index_in_emotion_order_and_agreement(tmp_path):
    rows = [f"0.0{k},{','.join('1' if j == k else '0' for j in range(6))},0.{k}" for k in range(6)]
    time, labels, agreement = read_labels(write(tmp_path / "l.csv", "\n".join([LABEL_HEADER] + rows)))
    assert labels.dtype == np.int8 and labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert agreement.dtype == np.float32 and time.dtype == np.float64
    np.testing.assert_allclose(agreement, np.arange(6) / 10)


def test_template_is_validated(tmp_path):
    good = write(tmp_path / "t.csv", template_text([2.0, 2.01]))
    assert read_template(good).tolist() == [2.0, 2.01]
    short_row = write(tmp_path / "u.csv", TEMPLATE_HEADER + "\n2.0,0,0,0,0,0,0\n2.01,0,0\n")
    with pytest.raises(DataFormatError, match=r"u\.csv, line 3: expected 7 cells"):
        read_template(short_row)
    with pytest.raises(DataFormatError, match=r"v\.csv, line 1: header"):
        read_template(write(tmp_path / "v.csv", LABEL_HEADER + "\n2.0,1,0,0,0,0,0,1\n"))


# --------------------------------------------------------------------------- recordings and splits


def test_recording_aligns_every_modality_on_a_clock_not_starting_at_zero(tmp_path):
    root = make_dataset(tmp_path, t0=83.32)
    rec = load_recording(root, "train", "idtrain01")
    np.testing.assert_allclose(rec.time, frame_grid(83.32, 200))
    assert rec.labels.tolist()[:7] == [0, 1, 2, 3, 4, 5, 0]
    for m in MODALITIES:
        assert rec.streams[m].shape == (200, N_FEATURES[m]) and rec.streams[m].dtype == np.float32
        assert rec.present[m].all(), m
    assert rec.meta == {"session": 1, "actor": 7}


def test_absent_modality_files_are_all_missing(tmp_path):
    rec = load_recording(make_dataset(tmp_path), "train", "idtrain02")
    assert rec.present["audio"].all()
    for m in ("face_nn", "eyes", "kinect"):
        assert not rec.present[m].any() and np.isnan(rec.streams[m]).all()
    assert rec.meta == {}


def test_recording_without_any_modality_file_still_loads(tmp_path):
    rec = load_recording(make_dataset(tmp_path), "test", "idtest002")
    assert rec.n_frames == 200 and list(rec.present) == ["eyes"]  # the test split's only modality folder
    assert not rec.present["eyes"].any() and rec.streams["eyes"].shape == (200, 6)
    assert rec.labels is not None  # from answers/test


def test_test_split_answers_are_optional(tmp_path):
    root = make_dataset(tmp_path)
    assert load_recording(root, "test", "idtest001", with_answers=False).labels is None
    (root / "answers" / "test" / "idtest001.csv").unlink()
    rec = load_recording(root, "test", "idtest001")
    assert rec.labels is None and rec.agreement is None and rec.present["eyes"].all()


def test_answers_on_another_grid_than_the_template_are_rejected(tmp_path):
    root = make_dataset(tmp_path)
    shifted_grid = frame_grid(13.0, 200)
    write(root / "answers" / "test" / "idtest001.csv", label_text(shifted_grid, np.zeros(200, int), np.ones(200)))
    with pytest.raises(DataFormatError, match=r"answers/test/idtest001\.csv: Time"):
        load_recording(root, "test", "idtest001")


def test_list_recordings_is_defined_by_labels_and_templates(tmp_path):
    root = make_dataset(tmp_path)
    write(root / "train" / "audio" / "idorphan1.csv", modality_text("audio", [0.0], np.ones((1, 36))))
    write(root / "train" / "eyes" / "idorphan2.csv", modality_text("eyes", [0.0], np.ones((1, 6))))
    with pytest.warns(UserWarning, match="^2 recording"):
        assert list_recordings(root, "train") == ["idtrain01", "idtrain02"]
    assert list_recordings(root, "test") == ["idtest001", "idtest002"]


def test_missing_split_folder_names_it(tmp_path):
    root = make_dataset(tmp_path)
    with pytest.raises(FileNotFoundError, match="private_test"):
        list_recordings(root, "private_test")
    with pytest.raises(FileNotFoundError, match="private_test"):
        load_split(root, "private_test")


def test_meta_is_optional(tmp_path):
    root = make_dataset(tmp_path)
    assert list(read_meta(root).columns) == ["id", "split", "session", "actor"]
    (root / "meta.csv").unlink()
    assert read_meta(root) is None
    assert load_recording(root, "train", "idtrain01").meta == {}


def test_meta_without_its_columns_is_rejected(tmp_path):
    root = make_dataset(tmp_path)
    write(root / "meta.csv", "id,split,speaker\nidtrain01,train,3\n")
    with pytest.raises(DataFormatError, match=r"meta\.csv, line 1: missing column\(s\) session, actor"):
        load_split(root, "train")


def test_progress_bar_changes_nothing_but_stderr(tmp_path, capsys):
    root = make_dataset(tmp_path)
    quiet = load_split(root, "train")
    shown = load_split(root, "train", progress=True)
    assert "loading train" in capsys.readouterr().err
    for a, b in zip(quiet, shown):
        assert_recordings_equal(a, b)


def test_bad_modality_file_raises_unless_skipped_with_a_warning(tmp_path):
    root = make_dataset(tmp_path)
    bad = write(root / "train" / "kinect" / "idtrain01.csv", audio_header(27) + "\n0.0,1,x" + ",1" * 25 + "\n")
    with pytest.raises(DataFormatError, match=r"kinect/idtrain01\.csv, line 2"):
        load_recording(root, "train", "idtrain01")
    with pytest.warns(BadFileWarning, match=rf"{bad}, line 2"):
        rec = load_recording(root, "train", "idtrain01", skip_bad_files=True)
    assert not rec.present["kinect"].any() and rec.present["audio"].all()


def test_bad_label_file_always_raises_in_load_recording(tmp_path):
    root = make_dataset(tmp_path)
    write(root / "train" / "labels" / "idtrain02.csv", LABEL_HEADER + "\n12.0,1,1,0,0,0,0,1\n")
    with pytest.raises(DataFormatError, match=r"idtrain02\.csv, line 2"):
        load_recording(root, "train", "idtrain02", skip_bad_files=True)


# worker processes (loky) must carry errors and skipped-file warnings back like threads do
PARALLEL = pytest.mark.parametrize("n_jobs, backend", [(1, "threading"), (2, "threading"), (2, "loky")])


@PARALLEL
def test_load_split_drops_train_recording_with_bad_labels_only_when_skipping(tmp_path, n_jobs, backend):
    root = make_dataset(tmp_path)
    bad = write(root / "train" / "labels" / "idtrain02.csv", LABEL_HEADER + "\n12.0,1,1,0,0,0,0,1\n")
    with parallel_config(backend=backend), pytest.raises(DataFormatError) as caught:
        load_split(root, "train", n_jobs=n_jobs)
    assert type(caught.value) is DataFormatError and caught.value.line == 2
    assert str(caught.value) == f"{bad}, line 2: expected exactly one 1 among {','.join(EMOTIONS)}, found 2"
    with parallel_config(backend=backend), pytest.warns(BadFileWarning, match=rf"{bad}, line 2"):
        recordings = load_split(root, "train", n_jobs=n_jobs, skip_bad_files=True)
    assert [r.rec_id for r in recordings] == ["idtrain01"]


def test_bad_template_raises_even_when_skipping(tmp_path):
    root = make_dataset(tmp_path)
    write(root / "test" / "prediction" / "idtest002.csv", "Time,Anger\n1,0\n")
    with pytest.raises(DataFormatError, match=r"idtest002\.csv, line 1"):
        load_split(root, "test", skip_bad_files=True)


@PARALLEL
def test_skipped_files_are_warned_about_once_whatever_the_backend(tmp_path, n_jobs, backend):
    root = make_dataset(tmp_path)
    write(root / "train" / "eyes" / "idtrain01.csv", b"\x00\x01\x02")
    with parallel_config(backend=backend), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recordings = load_split(root, "train", n_jobs=n_jobs, skip_bad_files=True)
    messages = [str(w.message) for w in caught if issubclass(w.category, BadFileWarning)]
    assert len(messages) == 1 and "eyes/idtrain01.csv" in messages[0]
    # the modality's only file was bad: no file tells its columns, so it is absent from the split
    assert "eyes" not in recordings[0].present and recordings[0].present["audio"].all()


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_result_does_not_depend_on_n_jobs(tmp_path, backend):
    root = make_dataset(tmp_path)
    for split in ("train", "test"):
        with parallel_config(backend=backend):
            one, two = load_split(root, split, n_jobs=1), load_split(root, split, n_jobs=2)
        assert len(one) == len(two) == 2
        for a, b in zip(one, two):
            assert_recordings_equal(a, b)


# --------------------------------------------------------------------------- the real EmoDB sample


@pytest.fixture(scope="module")
def emodb():
    if not EMODB.is_dir():
        pytest.skip("the EmoDB sample is not on this machine")
    return {split: load_split(EMODB, split) for split in ("train", "test")}


@pytest.mark.parametrize("split, n_recordings, class_counts", [
    ("train", 16, [18795, 9030, 3798, 9255, 9326, 12409]),
    ("test", 15, [14829, 7395, 8128, 8969, 8661, 8549]),
])
def test_emodb_loads_with_audio_only(emodb, split, n_recordings, class_counts):
    recordings = emodb[split]
    assert len(recordings) == n_recordings
    labels = np.concatenate([r.labels for r in recordings])
    assert np.bincount(labels, minlength=6).tolist() == class_counts
    audio_present = np.concatenate([r.present["audio"] for r in recordings])
    assert 0.26 < 1 - audio_present.mean() < 0.29  # the README: 28% / 27% all-zero audio rows
    for r in recordings:
        assert 0.5 < r.present["audio"].mean() < 1
        assert r.meta["session"] == r.meta["actor"]
        assert list(r.streams) == ["audio"]  # EmoDB has only an audio folder
        assert np.isfinite(r.streams["audio"][r.present["audio"]]).all()


def test_the_careful_pass_over_a_bad_file_streams_in_bounded_memory(tmp_path):
    """A bad cell near the end of a large file: the careful re-parse holds one line, not the file."""
    import tracemalloc

    rng = np.random.default_rng(0)
    rows = [",".join(f"{v:.6f}" for v in row) for row in np.column_stack(
        [np.arange(40_000) / 100, rng.standard_normal((40_000, 36))])]
    cells = rows[-5].split(",")
    cells[7] = "n/a"
    rows[-5] = ",".join(cells)
    path = write(tmp_path / "audio.csv", audio_header() + "\n" + "\n".join(rows) + "\n")
    size = path.stat().st_size
    tracemalloc.start()
    with pytest.raises(DataFormatError, match=rf"audio\.csv, line {40_000 - 5 + 2}: column 8 is not a number"):
        read_modality(path, "audio")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2.5 * size  # the file's bytes and their Arrow copy; the old pass held ~20x
