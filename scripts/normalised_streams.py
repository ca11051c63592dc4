"""Experiment: window statistics of streams normalised per recording (speaker normalisation).

Writes the train window table of a dataset whose streams were transformed per recording
before the window statistics, in the layout ``scripts/select_components.py`` reads
(``BUILD_ROOT/<name>/features``), so any candidate can be scored out of fold on it:

``zscore``
    every column minus its recording mean, divided by its recording standard deviation
    (over the present frames);
``centre``
    every column minus its recording mean;
``zero-cells``
    exact zeros inside present rows taken as missing cells (openSMILE's ``*_sma3nz``
    descriptors are 0 on unvoiced frames), every statistic over the other frames;
``relative``
    the statistics of the centred columns but ``mean`` and ``mean_dev``, which are those of
    the raw columns: the same information as the default set, with the order statistics
    (min, max, quantiles) relative to the recording's mean.

Session 12 scored ``stacked_gbm`` and ``early_fusion`` on them (docs/model_selection.md);
none is in the default. Usage::

    python scripts/normalised_streams.py --data ../shared/data/emodb --out build/relative/emodb --mode relative
    python scripts/select_components.py --build-root build/relative --datasets emodb --candidates stacked_gbm
"""

import argparse
import copy
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import emo_gbm.features._windowing as windowing  # noqa: E402
from emo_gbm.workflow import make_features  # noqa: E402

MODES = ("zscore", "centre", "relative", "zero-cells")
_featurize = windowing.featurize_recording


def normalised(recording, mode):
    """A shallow copy of ``recording`` whose streams are centred (``zscore``: and scaled) per
    column, or (``zero-cells``) have their zero cells missing."""
    out = copy.copy(recording)
    out.streams = {}
    for modality, stream in recording.streams.items():
        stream = np.asarray(stream, dtype=np.float64)
        if mode == "zero-cells":
            out.streams[modality] = np.where(stream == 0, np.nan, stream).astype(np.float32)
            continue
        seen = np.isfinite(stream).any(axis=0)
        mean = np.where(seen, np.nanmean(np.where(seen, stream, 0.0), axis=0), 0.0)
        scale = 1.0
        if mode == "zscore":
            std = np.nanstd(np.where(seen, stream, 0.0), axis=0)
            scale = np.where(seen & (std > 0), std, 1.0)
        out.streams[modality] = ((stream - mean) / scale).astype(np.float32)
    return out


def featurize(mode):
    def featurize_recording(recording, *args, **kwargs):
        table = _featurize(normalised(recording, mode), *args, **kwargs)
        if mode == "relative":
            raw = _featurize(recording, *args, **kwargs)
            kept = [c for c in raw.columns if c.endswith(("__mean", "__mean_dev"))]
            table[kept] = raw[kept]
        return table

    return featurize_recording


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True, help="the dataset's folder under the build root")
    parser.add_argument("--mode", choices=MODES, required=True)
    args = parser.parse_args(argv)
    # one process: the patched function must be the one that runs
    windowing.featurize_recording = featurize(args.mode)
    import emo_gbm.features._tasks as tasks

    tasks.featurize_recording = windowing.featurize_recording
    make_features(args.data, args.out, splits=("train",), n_jobs=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
