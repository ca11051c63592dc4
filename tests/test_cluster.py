"""The stages on a Dask cluster (--dask): the same bytes as a plain run, clear errors, no half-written cache."""

import os
import warnings

import pandas as pd
import pytest

pytest.importorskip("distributed")

from joblib import Parallel, delayed  # noqa: E402

from emo_gbm.cli import main  # noqa: E402
from emo_gbm.cluster import ClusterError, dask_backend  # noqa: E402
from emo_gbm.data.synth import generate  # noqa: E402
from emo_gbm.workflow import _write_split  # noqa: E402
from emo_gbm.features import WindowFeaturizer  # noqa: E402


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster") / "data"
    generate(root, seed=3, scale=0.03)
    return root


def run_stages(data, build, *extra):
    for stage in (["features", "--data", str(data)], ["train", "--pipeline", "stacked_gbm"],
                  ["submission", "--data", str(data), "--pipeline", "stacked_gbm"]):
        assert main(["-q", *stage, "--build", str(build), "--n-jobs", "2", *extra]) == 0


def test_a_local_dask_cluster_gives_the_plain_run_byte_for_byte(data, tmp_path):
    run_stages(data, tmp_path / "plain")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cluster's own notes (ports, nested workers)
        run_stages(data, tmp_path / "dask", "--dask", "local")
    for name in ("features/train.parquet", "features/test.parquet", "features/train_frames.parquet", "submission.zip"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name



def test_an_unreachable_scheduler_is_a_one_line_error(data, tmp_path, capsys):
    code = main(["-q", "features", "--data", str(data), "--build", str(tmp_path), "--dask", "tcp://127.0.0.1:9"])
    assert code == 3
    err = capsys.readouterr().err
    assert err.startswith("emo-gbm: cluster: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert "Traceback" not in err and not (tmp_path / "features" / "train.parquet").exists()


def test_a_worker_that_dies_is_replaced_and_its_task_retried(tmp_path):
    marker = str(tmp_path / "died")

    def die_once(i):  # defined here, so that it is shipped to the workers by value
        import os
        import pathlib

        if i == 0 and not pathlib.Path(marker).exists():
            pathlib.Path(marker).touch()
            os._exit(1)
        return i * i

    with dask_backend("local", n_workers=2):
        assert Parallel(n_jobs=2)(delayed(die_once)(i) for i in range(4)) == [0, 1, 4, 9]
    assert os.path.exists(marker)  # a worker did die


def test_a_split_interrupted_midway_leaves_no_table_behind(tmp_path):
    featurizer = WindowFeaturizer().fit()
    empty = featurizer.transform([])

    def results():
        yield (empty.assign(rec_id=pd.Series(dtype=object)), dict(rec_id="a", n_frames=1, group="a"), None), []
        raise ClusterError("a worker died")

    metadata = {"length": 400, "hop": 50, "split": "test"}
    with pytest.raises(ClusterError):
        _write_split(results(), tmp_path, "test", featurizer, metadata, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
