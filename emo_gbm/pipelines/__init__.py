"""Named pipelines: each name is a plain factory returning an unfitted :class:`FramePipeline`.

=============================  ==============================================================
name                           window classifier
=============================  ==============================================================
``stacked_gbm``                per modality one LightGBM and two linear experts (window means,
                               and window means relative to the recording's), stacked under a
                               logistic regression around the weighted product of their
                               posteriors
``stacked_xgb``                the same with XGBoost base models
``stacked_gbm_without_<m>``    ``stacked_gbm`` on the other three modalities (``<m>``: audio,
                               face, eyes, kinect); the modality table's reference for a model
                               trained without ``<m>``
``reference``                  the plain reference: one LightGBM on window mean, std, min, max,
                               mean absolute difference and missing fraction of every
                               modality, window posteriors averaged per frame
``early_fusion``               one LightGBM on the features of every modality
``audio_only``                 one LightGBM on the audio features
``face_only``                  one LightGBM on the face features
``eyes_only``                  one LightGBM on the eye features
``kinect_only``                one LightGBM on the Kinect features
=============================  ==============================================================

Every pipeline reads windows of :data:`WINDOW_LENGTH` frames summarised by the "default"
feature set, and ends with a :class:`~emo_gbm.smoothing.FrameSmoother` whose method (Viterbi,
the argmax of overlap-added posteriors, or a context model over them) and settings are chosen on
the out-of-fold posteriors of the train windows; the per-window argmax stays available for
comparison.
"""

from sklearn.linear_model import LogisticRegression

from emo_gbm.constants import MODALITIES
from emo_gbm.smoothing import FrameSmoother
from emo_gbm.ensemble import (
    ModalityBlocks,
    StackedModalityClassifier,
    default_base_estimator,
    default_linear_expert,
)
from emo_gbm.features import WindowFeaturizer

from emo_gbm.pipelines.base import FramePipeline

#: Window length of every pipeline, in frames (4 s, as the challenge baseline).
WINDOW_LENGTH = 400

#: Hop between train windows in frames.
TRAIN_HOP = 100

#: Feature set of every pipeline.
FEATURE_SET = "default"

#: Whether the pipelines (all but ``reference``) summarise openSMILE's voiced-only descriptors
#: over voiced frames, with the voiced share (``WindowFeaturizer(voicing=True)``).
VOICING = True

#: Share of train windows with one modality blanked (see StackedModalityClassifier).
MODALITY_DROPOUT = 0.2

#: Whether the stack also fits one meta-learner per set of absent modalities, used for
#: recordings that lack them (see StackedModalityClassifier).
META_PER_ABSENCE = True

#: Whether the stack predicts with its best base model alone when that model's out-of-fold
#: log-loss beats the meta-learner's (per set of absent modalities; see
#: StackedModalityClassifier). On: chosen out of fold across the suite (docs/model_selection.md):
#: it changes nothing where the meta-learner wins and lifts EmoDB (16 recordings, audio only)
#: from 0.616 to 0.662 out-of-fold WA, above the reference's 0.656.
BASE_FALLBACK = True

#: Block name suffix of each modality's linear expert on window means in the stacked pipelines.
LINEAR_SUFFIX = "_linear"

#: Block name suffix of each modality's linear expert on window means minus the recording's
#: mean (the ``mean_dev`` statistic) in the stacked pipelines.
CENTRED_SUFFIX = "_centred"

#: Inverse regularisation strengths of the linear experts, chosen per expert by grouped
#: cross-validation (StackedModalityClassifier's ``base_grid``).
LINEAR_C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1)

#: Grouped folds for out-of-fold posteriors.
CV_FOLDS = 5

#: Inverse regularisation strengths of a plain logistic-regression meta-learner.
PLAIN_META_C_GRID = (0.001, 0.01, 0.1, 1.0)


def _featurizer(modalities=None, exclude=(), stats=FEATURE_SET, voicing=VOICING):
    """Windows of every pipeline; ``modalities=None``: every modality of the data (learned at fit time)."""
    return WindowFeaturizer(
        length=WINDOW_LENGTH, hop=TRAIN_HOP, stats=stats,
        modalities=None if modalities is None else tuple(modalities), exclude=tuple(exclude), voicing=voicing,
    )


#: Ceiling of the boosting rounds of the stack's LightGBM blocks (chosen per block by grouped
#: cross-validation below it): no block chose more than 150 on the suite's worlds, and against 300
#: the out-of-fold WA moved by less than 0.001 on every world (docs/model_selection.md) while the
#: fold fits cost a third less. At full size the face block reaches it (200 rounds chosen).
STACK_ROUNDS = 200

#: Share of the columns each tree of the stack's LightGBM blocks draws (the single-model
#: pipelines keep :func:`~emo_gbm.ensemble.default_base_estimator`'s 0.3). Against 0.3, out of
#: fold on the train splits of the suite over three seeds: -0.0001 WA on average, -0.0025 on the
#: dataset where it lost most (docs/model_selection.md); the full-size stack fits ~19% faster.
STACK_COLUMNS = 0.2


def stack_estimator(random_state=0):
    """The LightGBM of each modality block of the stack: the default one with :data:`STACK_ROUNDS`
    rounds at most and :data:`STACK_COLUMNS` of the columns per tree.

    Examples
    --------
    >>> stack_estimator().n_estimators, stack_estimator().colsample_bytree
    (200, 0.2)
    """
    return default_base_estimator(random_state).set_params(n_estimators=STACK_ROUNDS, colsample_bytree=STACK_COLUMNS)


def _stacked(estimator, random_state, n_jobs, modalities=None, linear=True, centred=True,
             meta_per_absence=META_PER_ABSENCE, dropout=MODALITY_DROPOUT, pooled=True, stats=FEATURE_SET,
             base_fallback=BASE_FALLBACK, exclude=()):
    """Base models per modality of the data (``modalities`` / ``exclude`` select them; None:
    all, a fifth included): ``estimator`` on all of the modality's statistics, and
    (``linear``, ``centred``) linear experts (:func:`~emo_gbm.ensemble.default_linear_expert`)
    on its window means and on its window means minus the recording's mean; each expert's C is
    chosen over :data:`LINEAR_C_GRID` by grouped cross-validation. The blocks are resolved from
    the window table's columns when the pipeline is fitted
    (:class:`~emo_gbm.ensemble.ModalityBlocks`). The meta-learner is the product-of-experts
    logistic regression (``pooled``) or a plain one on the blocks' log-posteriors."""
    grid = {"logisticregression__C": list(LINEAR_C_GRID)}
    experts = [(LINEAR_SUFFIX, "mean", default_linear_expert(), grid)] * linear
    experts += [(CENTRED_SUFFIX, "mean_dev", default_linear_expert(), grid)] * centred
    blocks = ModalityBlocks(estimator, experts=experts)
    final, final_grid = (None, None) if pooled else (LogisticRegression(max_iter=1000), {"C": list(PLAIN_META_C_GRID)})
    classifier = StackedModalityClassifier(
        final_estimator=final,  # None: PooledLogisticRegression, its C chosen by grouped CV (StackedModalityClassifier)
        final_grid=final_grid,
        cv=CV_FOLDS,
        modality_dropout=dropout,
        meta_per_absence=meta_per_absence,
        base_fallback=base_fallback,
        blocks=blocks,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    return FramePipeline(_featurizer(modalities, exclude, stats), classifier, FrameSmoother(), CV_FOLDS,
                         random_state, n_jobs)


#: Statistics of the plain reference model (:func:`reference`).
REFERENCE_FEATURE_SET = "reference"


def reference(random_state=0, n_jobs=1):
    """The plain reference: one LightGBM on every modality's window mean, std, min, max,
    mean absolute difference and missing fraction; frame labels are the argmax of the
    averaged posteriors of the windows covering each frame (flat overlap-add, nothing tuned).
    It reads every column as given (no ``voicing``): the yardstick stays the plain model.

    Every model change is measured against it across the suite of datasets (``make suite``).

    Examples
    --------
    >>> pipe = reference()
    >>> pipe.featurizer.stats, pipe.smoothing
    ('reference', 'overlap')
    """
    smoother = FrameSmoother(taper="flat", posterior_power=1.0)
    return FramePipeline(
        _featurizer(stats=REFERENCE_FEATURE_SET, voicing=False), default_base_estimator(random_state), smoother, CV_FOLDS,
        random_state, n_jobs, smoothing="overlap",
    )


def _single_model(modalities, random_state, n_jobs, stats=FEATURE_SET):
    return FramePipeline(
        _featurizer(modalities, stats=stats), default_base_estimator(random_state), FrameSmoother(), CV_FOLDS,
        random_state, n_jobs,
    )


def stacked_gbm(random_state=0, n_jobs=1):
    """Per-modality LightGBM models and linear experts stacked under a logistic regression
    around the weighted product of their posteriors, with modality dropout.

    The meta-learner (:class:`~emo_gbm.ensemble.pooling.PooledLogisticRegression`) sees each window's
    per-modality log-posteriors and missing fractions.

    Examples
    --------
    >>> type(stacked_gbm().classifier).__name__
    'StackedModalityClassifier'
    """
    return _stacked(stack_estimator(random_state), random_state, n_jobs)


def stacked_xgb(random_state=0, n_jobs=1):
    """Per-modality XGBoost models and linear experts stacked as in :func:`stacked_gbm`, with
    modality dropout.

    Examples
    --------
    >>> type(stacked_xgb().classifier.blocks.estimator).__name__
    'XGBClassifier'
    """
    try:
        from xgboost import XGBClassifier
    except ImportError as exc:
        raise ImportError("the stacked_xgb pipeline needs XGBoost: pip install 'emo_gbm[xgboost]'") from exc
    estimator = XGBClassifier(
        n_estimators=200,
        learning_rate=0.05,
        max_depth=4,
        subsample=0.8,
        colsample_bytree=0.5,
        reg_lambda=1.0,
        tree_method="hist",
        n_jobs=1,
        random_state=random_state,
    )
    return _stacked(estimator, random_state, n_jobs)


def early_fusion(random_state=0, n_jobs=1):
    """One LightGBM on the features of every modality.

    Examples
    --------
    >>> early_fusion().featurizer.modalities is None  # every modality of the data
    True
    """
    return _single_model(None, random_state, n_jobs)


def audio_only(random_state=0, n_jobs=1):
    """One LightGBM on the audio features.

    Examples
    --------
    >>> audio_only().featurizer.modalities
    ('audio',)
    """
    return _single_model(("audio",), random_state, n_jobs)


def face_only(random_state=0, n_jobs=1):
    """One LightGBM on the face features.

    Examples
    --------
    >>> face_only().featurizer.modalities
    ('face_nn',)
    """
    return _single_model(("face_nn",), random_state, n_jobs)


def eyes_only(random_state=0, n_jobs=1):
    """One LightGBM on the eye features.

    Examples
    --------
    >>> eyes_only().featurizer.modalities
    ('eyes',)
    """
    return _single_model(("eyes",), random_state, n_jobs)


def kinect_only(random_state=0, n_jobs=1):
    """One LightGBM on the Kinect features.

    Examples
    --------
    >>> kinect_only().featurizer.modalities
    ('kinect',)
    """
    return _single_model(("kinect",), random_state, n_jobs)


#: Short name of each modality in pipeline names.
MODALITY_NAMES = {"audio": "audio", "face_nn": "face", "eyes": "eyes", "kinect": "kinect"}

#: Modality -> its single-modality pipeline (``<name>_only``).
SINGLE_MODALITY = {m: f"{MODALITY_NAMES[m]}_only" for m in MODALITIES}

#: Deleted modality -> the stack trained without it (``stacked_gbm_without_<name>``).
STACKED_WITHOUT = {m: f"stacked_gbm_without_{MODALITY_NAMES[m]}" for m in MODALITIES}


def _stacked_without(deleted):
    """Factory of :func:`stacked_gbm` on every modality but ``deleted``."""

    def factory(random_state=0, n_jobs=1):
        return _stacked(stack_estimator(random_state), random_state, n_jobs, exclude=(deleted,))

    factory.__name__ = factory.__qualname__ = STACKED_WITHOUT[deleted]
    factory.__doc__ = (
        f"Per-modality LightGBM models and linear experts stacked as in :func:`stacked_gbm`, on every "
        f"modality but {deleted}: what a stack trained without {deleted} reaches."
    )
    return factory


#: Pipeline name -> factory(random_state=0, n_jobs=1) returning an unfitted FramePipeline.
PIPELINES = {
    "reference": reference,
    "stacked_gbm": stacked_gbm,
    "stacked_xgb": stacked_xgb,
    "early_fusion": early_fusion,
    "audio_only": audio_only,
    "face_only": face_only,
    "eyes_only": eyes_only,
    "kinect_only": kinect_only,
    **{name: _stacked_without(m) for m, name in STACKED_WITHOUT.items()},
}


def get_pipeline(name, random_state=0, n_jobs=1):
    """An unfitted pipeline by name.

    Parameters
    ----------
    name : str
        A key of :data:`PIPELINES`.
    random_state : int, default=0
    n_jobs : int, default=1

    Returns
    -------
    FramePipeline

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.

    Examples
    --------
    >>> get_pipeline("early_fusion").featurizer.length
    400
    >>> get_pipeline("nope")
    Traceback (most recent call last):
    ...
    ValueError: unknown pipeline 'nope'; known: audio_only, early_fusion, eyes_only, face_only, kinect_only, reference, stacked_gbm, stacked_gbm_without_audio, stacked_gbm_without_eyes, stacked_gbm_without_face, stacked_gbm_without_kinect, stacked_xgb
    """
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline {name!r}; known: {', '.join(sorted(PIPELINES))}")
    return PIPELINES[name](random_state=random_state, n_jobs=n_jobs)


__all__ = [
    "FramePipeline", "PIPELINES", "get_pipeline", "WINDOW_LENGTH", "TRAIN_HOP", "LINEAR_SUFFIX", "CENTRED_SUFFIX",
    "SINGLE_MODALITY", "STACKED_WITHOUT",
]
