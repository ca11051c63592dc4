"""The public API: what ``import emo_gbm`` offers, and the pipelines as scikit-learn estimators."""

import subprocess
import sys

import pytest
from sklearn.base import clone

import emo_gbm


def test_every_public_name_is_importable_from_the_package():
    for name in emo_gbm.__all__:
        assert getattr(emo_gbm, name) is not None, name


def test_package_names_load_on_first_use_and_unknown_names_raise(tmp_path):
    code = ("import sys, emo_gbm; assert 'emo_gbm.pipelines' not in sys.modules; "
            "assert emo_gbm.get_pipeline is emo_gbm.pipelines.get_pipeline; "
            "assert set(emo_gbm.__all__) <= set(dir(emo_gbm))")
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path).returncode == 0
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        emo_gbm.no_such_name


def test_feature_workers_load_without_scikit_learn(tmp_path):
    # the features stage's worker processes import this module only: scikit-learn would add ~1 s
    # to the start of every worker
    code = ("import sys, emo_gbm.features._tasks; "
            "loaded = [m for m in ('sklearn', 'lightgbm', 'scipy') if m in sys.modules]; "
            "sys.exit(f'also loaded: {loaded}' if loaded else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", sorted(emo_gbm.PIPELINES))
def test_every_named_pipeline_clones_with_equal_parameters(name):
    pipe = emo_gbm.get_pipeline(name, random_state=3)
    copy = clone(pipe)
    assert type(copy) is emo_gbm.FramePipeline and copy is not pipe
    assert copy.get_params(deep=False).keys() == pipe.get_params(deep=False).keys()
    assert copy.random_state == 3
    assert copy.get_params()["classifier"] is not pipe.get_params()["classifier"]


def test_set_params_reaches_nested_estimators():
    pipe = emo_gbm.get_pipeline("stacked_gbm").set_params(smoothing="viterbi", featurizer__hop=50)
    assert pipe.smoothing == "viterbi" and pipe.featurizer.hop == 50


def test_no_top_level_pipelines_package_is_installed(tmp_path):
    code = "import importlib.util, sys; sys.exit(importlib.util.find_spec('pipelines') is not None)"
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path).returncode == 0


def test_command_line_reports_the_package_version():
    out = subprocess.run([sys.executable, "-m", "emo_gbm.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"emo-gbm {emo_gbm.__version__}"
