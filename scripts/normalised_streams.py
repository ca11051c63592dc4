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
from emo_gbm.features import sanitize_column_names, summarised_columns  # noqa: E402
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
                out.streams[modality], out.columns = unvoiced(stream, recording, mode)
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


def voicing_layout(names, mode):
    """The audio columns of mode ``unvoiced`` or ``voiced-copies`` for the columns ``names``, and
    their positions in :func:`~emo_gbm.features._windowing.with_voicing`'s output: the library's
    reading ``True`` or ``"both"``, in ``unvoiced`` with each voiced-only descriptor under its own
    name."""
    names = sanitize_column_names(names)
    labels, positions = summarised_columns(names, "both" if mode == "voiced-copies" else True)
    if mode == "unvoiced":
        labels = names + labels[len(names):]
    return labels, positions


def unvoiced(stream, recording, mode):
    """The audio stream and the recording's columns read as ``mode`` (:func:`voicing_layout`):
    openSMILE's codes for an undefined value (0, and -201 for the amplitude ratios) in its
    voiced-only columns (``emo_gbm.features.VOICED_ONLY``) taken as missing cells, in place
    (``unvoiced``) or in copies after the columns as given (``voiced-copies``), then the column
    ``voiced`` (1 where the F0 column holds a value, else 0; the featurizer blanks it on missing
    rows like every column)."""
    names = recording.column_names("audio")
    labels, positions = voicing_layout(names, mode)
    stream = windowing.with_voicing(stream, sanitize_column_names(names))[:, positions]
    return stream.astype(np.float32), {**recording.columns, "audio": labels}


def featurize(mode):
    def featurize_recording(recording, *args, **kwargs):
        columns = kwargs.get("columns")
        if mode in ("unvoiced", "voiced-copies") and columns is not None and "audio" in columns:
            kwargs["columns"] = {**columns, "audio": voicing_layout(columns["audio"], mode)[0]}
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
