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
``unvoiced``
    openSMILE's codes for "undefined" in the voiced-only audio columns (:data:`VOICED_ONLY`;
    0, and -201 for the formant amplitudes) taken as missing cells, and a column ``voiced``
    (the voiced share) added: what ``WindowFeaturizer(voicing=True)`` now does (session 14).
``voiced-copies``
    the audio columns as given, then the voiced-only columns read as in ``unvoiced``
    (``<name>_voiced``), then ``voiced``.

Session 12 scored ``stacked_gbm`` and ``early_fusion`` on the first four (docs/model_selection.md);
none is in the default. Session 14 scored ``stacked_gbm`` on the last two over seeds 0-2;
``unvoiced`` was taken. Usage::

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
from emo_gbm.features import VOICED_ONLY  # noqa: E402
from emo_gbm import workflow  # noqa: E402
from emo_gbm.workflow import make_features  # noqa: E402

MODES = ("zscore", "centre", "relative", "zero-cells", "unvoiced", "voiced-copies")
_featurize = windowing.featurize_recording


def normalised(recording, mode):
    """A shallow copy of ``recording`` whose streams are centred (``zscore``: and scaled) per
    column, or (``zero-cells``) have their zero cells missing."""
    out = copy.copy(recording)
    out.streams = {}
    for modality, stream in recording.streams.items():
        stream = np.asarray(stream, dtype=np.float64)
        if mode in ("unvoiced", "voiced-copies"):
            if modality == "audio":
                out.streams[modality], out.columns = unvoiced(stream, recording, keep=mode == "voiced-copies")
            else:
                out.streams[modality] = recording.streams[modality]
            continue
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


def unvoiced(stream, recording, keep=False):
    """The audio stream with openSMILE's codes for an undefined value (0, and -201 for the
    amplitude ratios) in its voiced-only columns (``emo_gbm.features.VOICED_ONLY``) taken as missing cells, and one more
    column ``voiced`` (1 where the F0 column holds a value, else 0; the featurizer blanks it
    on missing rows like every column). ``keep``: those columns are kept as they
    are and their voiced-only copies (``<name>_voiced``) added after them."""
    names = list(recording.column_names("audio"))
    stream = stream.copy()
    copies, copy_names, voiced = [], [], None
    for j, name in enumerate(names):
        if name in VOICED_ONLY:
            code = (stream[:, j] == 0) | (stream[:, j] == -201)
            if name.startswith("F0"):
                voiced = (~code).astype(np.float64)
            if keep:
                copies.append(np.where(code, np.nan, stream[:, j]))
                copy_names.append(name + "_voiced")
            else:
                stream[code, j] = np.nan
    columns = dict(recording.columns)
    added = copies + ([voiced] if voiced is not None else [])
    if added:
        stream = np.column_stack([stream] + added)
        columns["audio"] = tuple(names) + tuple(copy_names) + (("voiced",) if voiced is not None else ())
    return stream.astype(np.float32), columns


class _Named:
    """Stands for a recording whose audio columns are ``names`` (for the column names alone)."""

    def __init__(self, names):
        self.columns = {"audio": tuple(names)}

    def column_names(self, modality):
        return self.columns[modality]


def featurize(mode):
    def featurize_recording(recording, *args, **kwargs):
        columns = kwargs.get("columns")
        if mode in ("unvoiced", "voiced-copies") and columns is not None and "audio" in columns:
            kwargs["columns"] = {**columns, "audio": unvoiced(np.zeros((1, len(columns["audio"]))),
                                                              _Named(columns["audio"]), mode == "voiced-copies")[1]["audio"]}
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
    # the streams are transformed here: the library reads them as given (no voiced readings of its own)
    workflow.VOICING = False
    make_features(args.data, args.out, splits=("train",), n_jobs=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
