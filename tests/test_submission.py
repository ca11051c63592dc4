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
