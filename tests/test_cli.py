"""The command line: stages end to end on a tiny generated dataset, and one-line errors."""

import json
import shutil
import zipfile

import pytest

from emo_gbm.cli import main


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny synthetic dataset and a build folder run through every stage once."""
    root = tmp_path_factory.mktemp("cli")
    data, build = root / "data", root / "build"
    assert main(["-q", "synth", "--out", str(data), "--scale", "0.03", "--seed", "1"]) == 0
    assert main(["-q", "features", "--data", str(data), "--build", str(build)]) == 0
    assert main(["-q", "train", "--build", str(build), "--pipeline", "stacked_gbm"]) == 0
    assert main(["-q", "submission", "--data", str(data), "--build", str(build)]) == 0
    assert main(["-q", "evaluate", "--data", str(data), "--build", str(build)]) == 0
    return data, build


def test_stages_write_submission_and_metrics(tiny, capsys):
    data, build = tiny
    metrics = json.loads((build / "metrics.json").read_text())
    assert {"WA", "UA", "frames", "frames_total", "recordings", "confusion", "recall"} <= set(metrics)
    assert 0.0 <= metrics["WA"] <= 1.0 and metrics["split"] == "test"
    templates = sorted(p.name for p in (data / "test" / "prediction").glob("*.csv"))
    with zipfile.ZipFile(build / "submission.zip") as archive:
        names = sorted(n.split("/", 1)[1] for n in archive.namelist() if n.endswith(".csv"))
    assert names == templates  # every template gets a prediction
    assert main(["check-submission", str(build / "submission.zip"), str(data)]) == 0
    assert "WA" in capsys.readouterr().out


def test_same_seed_gives_byte_identical_submission(tiny, tmp_path):
    data, build = tiny
    again = tmp_path / "again"
    assert main(["-q", "submission", "--data", str(data), "--build", str(build), "--out", str(again)]) == 0
    assert (again / "submission.zip").read_bytes() == (build / "submission.zip").read_bytes()


def test_bad_modality_file_is_one_line_naming_file_and_line(tiny, tmp_path, capsys):
    data, _ = tiny
    bad = tmp_path / "bad"
    shutil.copytree(data, bad)
    victim = sorted((bad / "train" / "audio").glob("*.csv"))[0]
    lines = victim.read_text().splitlines()
    cells = lines[3].split(",")
    cells[2] = "oops"
    lines[3] = ",".join(cells)
    victim.write_text("\n".join(lines) + "\n")
    code = main(["-q", "features", "--data", str(bad), "--build", str(tmp_path / "b")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(victim) in err and "line 4" in err
    # asked to skip: a warning naming the file, and the stage goes on
    code = main(["features", "--data", str(bad), "--build", str(tmp_path / "b"), "--skip-bad-files"])
    err = capsys.readouterr().err
    assert code == 0 and "warning" in err and victim.name in err


def test_check_submission_reports_a_broken_row(tiny, tmp_path, capsys):
    data, build = tiny
    folder = tmp_path / "sub"
    shutil.copytree(build / "submission", folder)
    victim = sorted((folder / "prediction").glob("*.csv"))[0]
    lines = victim.read_text().splitlines()
    lines[5] = lines[5].split(",")[0] + ",1,1,0,0,0,0"
    victim.write_text("\n".join(lines) + "\n")
    assert main(["check-submission", str(folder), str(data)]) == 2
    err = capsys.readouterr().err
    assert victim.name in err and "line 6" in err


def test_missing_dataset_is_a_clear_error(tmp_path, capsys):
    assert main(["-q", "features", "--data", str(tmp_path / "nowhere"), "--build", str(tmp_path / "b")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_a_short_command_exits_cleanly_every_time(tiny):
    """No SIGABRT at interpreter exit ('terminate called without an active exception', exit 134).

    It came from an Arrow pool thread releasing the last reference to a buffer that wrapped a
    Python bytes object while the interpreter finalised (1 run in about 100 before the fix).
    """
    import os
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    data, build = tiny
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [sys.executable, "-c", "import sys; from emo_gbm.cli import main; sys.exit(main())",
               "-q", "check-submission", str(build / "submission.zip"), str(data)]

    def run(_):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        return done.returncode, done.stderr.strip()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, range(30)))
    failures = [(code, err) for code, err in results if code != 0]
    assert not failures, failures[:3]
