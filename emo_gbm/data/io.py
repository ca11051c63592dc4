"""Reading the challenge layout (``docs/data_format.md``) into aligned :class:`Recording` objects.

The public names of the data readers, each living in a private module with one job:

* :mod:`emo_gbm.data._csv_tables`: CSV bytes to float tables, errors naming file and line;
* :mod:`emo_gbm.data._modality_files`: one modality file (:func:`read_modality`,
  :func:`read_modality_columns`, :func:`has_header`);
* :mod:`emo_gbm.data._grid_files`: labels, answers and templates (:func:`read_labels`,
  :func:`read_template`, :func:`read_grid_lines`);
* :mod:`emo_gbm.data._align`: streams to the frame grid (:func:`align_stream`,
  :func:`measured_rate`);
* :mod:`emo_gbm.data._layout`: splits, modalities, recordings, ``meta.csv``
  (:func:`list_recordings`, :func:`list_modalities`, :func:`csv_files`, :func:`read_meta`);
* :mod:`emo_gbm.data._schema`: the feature columns of a split (:func:`read_split_columns`);
* :mod:`emo_gbm.data._loading`: whole recordings and splits (:func:`load_recording`,
  :func:`load_split`).
"""

from emo_gbm.data._align import HOLD_PERIODS, TIME_TOLERANCE, align_stream, measured_rate
from emo_gbm.data._grid_files import LABEL_HEADER, TEMPLATE_HEADER, read_grid_lines, read_labels, read_template
from emo_gbm.data._layout import META_COLUMNS, csv_files, list_modalities, list_recordings, read_meta
from emo_gbm.data._loading import load_one, load_recording, load_split, split_plan, warn_bad_files
from emo_gbm.data._modality_files import has_header, read_modality, read_modality_columns
from emo_gbm.data._schema import read_split_columns

__all__ = [
    "HOLD_PERIODS",
    "LABEL_HEADER",
    "META_COLUMNS",
    "TEMPLATE_HEADER",
    "TIME_TOLERANCE",
    "align_stream",
    "csv_files",
    "has_header",
    "list_modalities",
    "list_recordings",
    "load_one",
    "load_recording",
    "load_split",
    "measured_rate",
    "read_grid_lines",
    "read_labels",
    "read_meta",
    "read_modality",
    "read_modality_columns",
    "read_split_columns",
    "split_plan",
    "warn_bad_files",
    "read_template",
]
