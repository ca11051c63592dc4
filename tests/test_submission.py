"""Submission writer and checker: templates kept verbatim, atomic, deterministic, validated."""

import zipfile

import numpy as np
import pytest

from emo_gbm.errors import DataFormatError
from emo_gbm.submission import check_submission, write_submission

HEADER = "Time,Anger,Sad,Disgust,Happy,Scared,Neutral"
LABEL_HEADER = HEADER + ",Agreement score"


def _dataset(root, times_by_id, answers=None):
    """Templates (and optionally answers) for the test split, written by hand."""
    (root / "test" / "prediction").mkdir(parents=True)
    for rec_id, times in times_by_id.items():
        rows = "".join(f"{t},0,0,0,0,0,0\n" for t in times)
        (root / "test" / "prediction" / f"{rec_id}.csv").write_text(HEADER + "\n" + rows)
    if answers:
        (root / "answers" / "test").mkdir(parents=True)
        for rec_id, (labels, agreement) in answers.items():
            lines = [LABEL_HEADER]
            for t, k, a in zip(times_by_id[rec_id], labels, agreement):
                cells = ["0"] * 6
                cells[k] = "1"
                lines.append(f"{t},{','.join(cells)},{a}")
            (root / "answers" / "test" / f"{rec_id}.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def data(tmp_path):
    times = {"id0000000a": ["83.32", "83.33", "83.34"], "id0000000b": ["0", "0.01"]}
    answers = {"id0000000a": ([3, 3, 0], [0.7, 0.9, 0.9]), "id0000000b": ([5, 5], [0.5, 0.8])}
    return _dataset(tmp_path / "DATA", times, answers)


def test_writes_every_template_with_time_strings_unchanged(data, tmp_path):
    preds = {"id0000000a": np.array([3, 3, 3]), "id0000000b": np.array([5, 0])}
    zip_path = write_submission(preds, data, "test", tmp_path / "out")
    text = (tmp_path / "out" / "submission" / "prediction" / "id0000000a.csv").read_text()
    assert text.splitlines() == [HEADER, "83.32,0,0,0,1,0,0", "83.33,0,0,0,1,0,0", "83.34,0,0,0,1,0,0"]
    text_b = (tmp_path / "out" / "submission" / "prediction" / "id0000000b.csv").read_text()
    assert text_b.splitlines()[1:] == ["0,0,0,0,0,0,1", "0.01,1,0,0,0,0,0"]  # "0" stays "0", not "0.00"
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == ["prediction/", "prediction/id0000000a.csv", "prediction/id0000000b.csv"]
    result = check_submission(zip_path, data, "test")
    assert result["recordings"] == 2 and result["frames"] == 5
    # scored frames: a rows 1-3 (all > 0.6... 0.7, 0.9, 0.9) and b row 2 (0.8) -> 2 of a right + 0 of b
    assert result["scores"]["frames"] == 4
    assert result["scores"]["WA"] == pytest.approx(2 / 4)


def test_zip_is_byte_identical_for_the_same_predictions(data, tmp_path):
    preds = {"id0000000a": [1, 2, 3], "id0000000b": [4, 5]}
    first = write_submission(preds, data, "test", tmp_path / "one").read_bytes()
    second = write_submission(preds, data, "test", tmp_path / "two").read_bytes()
    assert first == second


def test_missing_prediction_or_wrong_length_writes_nothing(data, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="id0000000b"):
        write_submission({"id0000000a": [0, 0, 0]}, data, "test", out)
    with pytest.raises(ValueError, match="2 frames, its template"):
        write_submission({"id0000000a": [0, 0], "id0000000b": [0, 0]}, data, "test", out)
    with pytest.raises(ValueError, match="outside"):
        write_submission({"id0000000a": [0, 0, 9], "id0000000b": [0, 0]}, data, "test", out)
    assert not (out / "submission.zip").exists() and not (out / "submission").exists()
    assert [p.name for p in out.iterdir()] == []  # no staging folder left behind


def test_rewrite_replaces_previous_submission_whole(data, tmp_path):
    out = tmp_path / "out"
    write_submission({"id0000000a": [0, 0, 0], "id0000000b": [0, 0]}, data, "test", out)
    write_submission({"id0000000a": [1, 1, 1], "id0000000b": [1, 1]}, data, "test", out)
    assert "0,1,0,0,0,0" in (out / "submission" / "prediction" / "id0000000a.csv").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["submission", "submission.zip"]


def _folder_submission(tmp_path, data):
    write_submission({"id0000000a": [0, 0, 0], "id0000000b": [0, 0]}, data, "test", tmp_path / "sub")
    return tmp_path / "sub" / "submission"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.replace("83.33", "83.330"), "line 3: Time '83.330' differs"),
        (lambda t: t.replace("83.33,1,0,0,0,0,0", "83.33,1,1,0,0,0,0"), "line 3: a row needs exactly one 1"),
        (lambda t: t.replace("83.34,1,0,0,0,0,0", "83.34,0,0,0,0,0,0"), "line 4: a row needs exactly one 1"),
        (lambda t: t.replace("83.32,1,0,0,0,0,0", "83.32,1,0,0,0,0"), "line 2: expected 7 cells"),
        (lambda t: t.replace("Time,", "time,"), "line 1: header"),
        (lambda t: t.rsplit("83.34", 1)[0], "2 rows, the template has 3"),
    ],
)
def test_checker_names_file_and_line_of_each_problem(tmp_path, data, mutate, message):
    folder = _folder_submission(tmp_path, data)
    path = folder / "prediction" / "id0000000a.csv"
    path.write_text(mutate(path.read_text()))
    with pytest.raises(DataFormatError, match=message) as info:
        check_submission(folder, data, "test")
    assert "id0000000a.csv" in str(info.value)


def test_checker_rejects_missing_and_extra_files_and_non_zip(tmp_path, data):
    folder = _folder_submission(tmp_path, data)
    (folder / "prediction" / "id0000000b.csv").unlink()
    with pytest.raises(DataFormatError, match="no prediction file, e.g. id0000000b.csv"):
        check_submission(folder, data, "test")
    (folder / "prediction" / "id0000000b.csv").write_text("x")
    (folder / "prediction" / "id0000000c.csv").write_text("x")
    with pytest.raises(DataFormatError, match="match no template, e.g. id0000000c.csv"):
        check_submission(folder, data, "test")
    bogus = tmp_path / "submission.zip"
    bogus.write_text("not a zip")
    with pytest.raises(DataFormatError, match="not a zip file"):
        check_submission(bogus, data, "test")


def test_checker_without_answers_validates_only(tmp_path):
    data = _dataset(tmp_path / "DATA", {"id0000000a": ["1.00", "1.01"]})
    zip_path = write_submission({"id0000000a": [2, 2]}, data, "test", tmp_path / "out")
    result = check_submission(zip_path, data, "test")
    assert "scores" not in result and result["frames"] == 2


# --------------------------------------------------------------------------- hostile submissions

import struct  # noqa: E402

from emo_gbm.cli import main  # noqa: E402
from emo_gbm.data.io import list_recordings, load_split, read_template  # noqa: E402
from emo_gbm.submission import SIZE_FACTOR, _read_bounded, read_template_lines  # noqa: E402


def _rows(times, k=0):
    cells = ["0"] * 6
    cells[k] = "1"
    return HEADER + "\n" + "".join(f"{t},{','.join(cells)}\n" for t in times)


def _zip(path, members):
    """A zip written member by member (name -> text), duplicates allowed."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in members:
            archive.writestr(name, text)
    return path


def _good_members():
    return [("prediction/id0000000a.csv", _rows(["83.32", "83.33", "83.34"])),
            ("prediction/id0000000b.csv", _rows(["0", "0.01"]))]


def _patch_central(path, offset, fmt, value, member=0):
    """Overwrite a field of the ``member``-th central directory entry (and its local header)."""
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data)) if data.startswith(b"PK\x01\x02", i)]
    central = starts[member]
    struct.pack_into(fmt, data, central + offset, value)
    local = struct.unpack_from("<I", data, central + 42)[0]
    local_offset = {8: 6, 10: 8, 24: 22}[offset]  # the same field in the local file header
    struct.pack_into(fmt, data, local + local_offset, value)
    path.write_bytes(bytes(data))
    return path


def _check_cli(capsys, submission, data):
    code = main(["-q", "check-submission", str(submission), str(data)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("emo-gbm: bad input: ") and "Traceback" not in err
    return err


def test_a_valid_zip_written_by_hand_is_accepted(data, tmp_path):
    result = check_submission(_zip(tmp_path / "s.zip", _good_members()), data, "test")
    assert result["frames"] == 5


def test_duplicated_member_is_rejected(data, tmp_path, capsys):
    members = _good_members() + [("prediction/id0000000a.csv", _rows(["83.32", "83.33", "83.34"], k=3))]
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = _zip(tmp_path / "s.zip", members)
    err = _check_cli(capsys, path, data)
    assert "prediction/id0000000a.csv appears twice" in err


@pytest.mark.parametrize("name", ["notes.txt", "other/id0000000a.csv", "prediction/sub/id0000000a.csv",
                                  "prediction/readme.txt", "id0000000a.csv", "../prediction/x.csv"])
def test_members_outside_prediction_are_rejected_by_name(data, tmp_path, capsys, name):
    path = _zip(tmp_path / "s.zip", _good_members() + [(name, "x")])
    err = _check_cli(capsys, path, data)
    assert "not prediction/<id>.csv" in err and name in err


def test_a_bomb_member_is_refused_without_reading_it_whole(data, tmp_path, capsys):
    import tracemalloc

    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(*_good_members()[1])
        with archive.open("prediction/id0000000a.csv", "w") as member:
            block = b"0" * (1 << 20)
            for _ in range(64):  # 64 MB of zeros, 64 KB compressed
                member.write(block)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    with pytest.raises(DataFormatError, match="id0000000a.csv: 67108864 bytes once decompressed"):
        check_submission(path, data, "test")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20
    # a lying header (a small declared size) ends as a corrupt member: zipfile stops at the
    # declared size and the CRC fails; nothing large is read either
    _patch_central(path, 24, "<I", 100, member=1)
    tracemalloc.start()
    err = _check_cli(capsys, path, data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "id0000000a.csv: corrupt or unreadable zip member" in err and peak < 8 << 20


def test_reading_stops_at_the_limit_whatever_the_stream():
    class Endless:
        served = 0

        def read(self, n):
            self.served += n
            return b"0" * n

    stream = Endless()
    with pytest.raises(DataFormatError, match="more than 3000000 bytes"):
        _read_bounded(stream, "x.csv", 3_000_000)
    assert stream.served <= 3_000_000 + (1 << 20)
    assert SIZE_FACTOR >= 2  # a CRLF copy of a template is always accepted


@pytest.mark.parametrize(
    "patch, message",
    [
        ((8, "<H", 0x1), "encrypted zip member"),
        ((10, "<H", 99), "unsupported compression method 99"),
        (None, "corrupt or unreadable zip member"),
    ],
)
def test_encrypted_unsupported_or_corrupt_member_is_one_line_naming_it(data, tmp_path, capsys, patch, message):
    path = _zip(tmp_path / "s.zip", _good_members())
    if patch is None:  # flip bytes inside the first member's compressed data
        raw = bytearray(path.read_bytes())
        start = 30 + len("prediction/id0000000a.csv")
        for i in range(start + 2, start + 8):
            raw[i] ^= 0xFF
        path.write_bytes(bytes(raw))
    else:
        _patch_central(path, *patch, member=0)
    err = _check_cli(capsys, path, data)
    assert f"s.zip:prediction/id0000000a.csv: {message}" in err


def test_answers_are_checked_against_the_template_time(data, tmp_path, capsys):
    path = _zip(tmp_path / "s.zip", _good_members())
    answer = data / "answers" / "test" / "id0000000a.csv"
    answer.write_text(answer.read_text().replace("83.33,", "83.335,"))
    err = _check_cli(capsys, path, data)
    assert f"{answer}, line 3: Time '83.335' differs from the template's '83.33'" in err


# --------------------------------------------------------------------------- one template parser


def test_bom_and_spaces_in_templates_read_alike_by_every_stage(tmp_path, capsys):
    root = tmp_path / "DATA"
    (root / "test" / "prediction").mkdir(parents=True)
    body = "Time, Anger ,Sad,Disgust,Happy,Scared,Neutral\r\n 83.32 ,0, 0,0,0,0,0\r\n83.330,0,0,0,0,0,0 \r\n"
    (root / "test" / "prediction" / "id0000000a.csv").write_bytes(b"\xef\xbb\xbf" + body.encode())
    template = root / "test" / "prediction" / "id0000000a.csv"
    (root / "test" / "audio").mkdir()
    (root / "test" / "audio" / "id0000000a.csv").write_text("Time,loudness\n83.32,0.5\n83.33,0.7\n")
    assert read_template_lines(template) == (HEADER, ["83.32", "83.330"])
    assert read_template(template).tolist() == [83.32, 83.33]
    # features: the loader reads the same grid
    (recording,) = load_split(root, "test")
    assert recording.time.tolist() == [83.32, 83.33]
    from emo_gbm.workflow import make_features

    make_features(root, tmp_path / "build", splits=("test",))
    import pandas as pd

    assert pd.read_parquet(tmp_path / "build" / "features" / "test_recordings.parquet")["n_frames"].tolist() == [2]
    # submission: no BOM, no spaces, the Time strings as written
    zip_path = write_submission({"id0000000a": [1, 2]}, root, "test", tmp_path / "out")
    written = (tmp_path / "out" / "submission" / "prediction" / "id0000000a.csv").read_bytes()
    assert written == (HEADER + "\n83.32,0,1,0,0,0,0\n83.330,0,0,1,0,0,0\n").encode()
    # check-submission accepts it
    assert main(["-q", "check-submission", str(zip_path), str(root)]) == 0


def test_a_template_with_a_bad_cell_is_refused_by_every_stage(tmp_path):
    root = tmp_path / "DATA"
    (root / "test" / "prediction").mkdir(parents=True)
    path = root / "test" / "prediction" / "id0000000a.csv"
    path.write_text(HEADER + "\n1.00,0,0,0,0,0,0\n1.01,0,x,0,0,0,0\n")
    with pytest.raises(DataFormatError, match=r"id0000000a\.csv, line 3: .*emotion cell"):
        load_split(root, "test")
    with pytest.raises(DataFormatError, match=r"id0000000a\.csv, line 3: .*emotion cell"):
        write_submission({"id0000000a": [0, 0]}, root, "test", tmp_path / "out")


# --------------------------------------------------------------------------- dot-files


def test_dot_files_are_ignored_alike_by_every_stage(data, tmp_path):
    junk = b"\x00\x05\x16\x07 mac resource fork"
    for folder in ("test/prediction", "test/audio", "answers/test"):
        (data / folder).mkdir(parents=True, exist_ok=True)
        (data / folder / "._id0000000a.csv").write_bytes(junk)
        (data / folder / ".id0000000c.csv").write_text("hidden")
    assert list_recordings(data, "test") == ["id0000000a", "id0000000b"]
    assert [r.rec_id for r in load_split(data, "test")] == ["id0000000a", "id0000000b"]
    zip_path = write_submission({"id0000000a": [0, 0, 0], "id0000000b": [0, 0]}, data, "test", tmp_path / "out")
    with zipfile.ZipFile(zip_path) as archive:
        assert not any("/." in n for n in archive.namelist())
    assert check_submission(zip_path, data, "test")["recordings"] == 2
    folder = tmp_path / "out" / "submission"
    (folder / "prediction" / "._id0000000a.csv").write_bytes(junk)
    assert check_submission(folder, data, "test")["recordings"] == 2
    with_forks = _zip(tmp_path / "mac.zip", _good_members() + [("prediction/._id0000000a.csv", junk)])
    assert check_submission(with_forks, data, "test")["recordings"] == 2
