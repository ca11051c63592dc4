"""The public API: what ``import emo_gbm`` offers, and the pipelines as scikit-learn estimators."""

import subprocess
import sys

import pytest
from sklearn.base import clone

import emo_gbm


def test_every_public_name_is_importable_from_the_package():
    for name in emo_gbm.__all__:
        assert getattr(emo_gbm, name) is not None, name


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
