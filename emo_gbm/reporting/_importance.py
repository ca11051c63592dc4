"""Gain importance of the stacked model's base models, and its figure."""

import numpy as np

from emo_gbm.constants import MODALITIES
from emo_gbm.reporting._style import MODALITY_TITLES, MODEL_COLOURS, _figure, _not_run, _save


def _find_stacker(obj, depth=0, seen=None):
    """The first object holding per-block base models (``estimators_`` and ``blocks_``).

    Searches attributes, dict values, list items and scikit-learn pipeline steps, so the
    report does not depend on how the pipeline object wraps the stacked classifier.
    """
    seen = set() if seen is None else seen
    if depth > 5 or id(obj) in seen or isinstance(obj, (str, bytes, int, float, np.ndarray)):
        return None
    seen.add(id(obj))
    if isinstance(getattr(obj, "estimators_", None), dict) and hasattr(obj, "blocks_"):
        return obj
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        children = list(obj)
    elif hasattr(obj, "__dict__"):
        children = list(vars(obj).values())
    else:
        children = []
    for child in children:
        found = _find_stacker(child, depth + 1, seen)
        if found is not None:
            return found
    return None


def _block_gain(estimator, n_columns):
    """Total gain of each column of one base model (zeros for a model without trees)."""
    booster = getattr(estimator, "booster_", None)
    if booster is not None:  # LightGBM
        return np.asarray(booster.feature_importance(importance_type="gain"), dtype=np.float64)
    if hasattr(estimator, "get_booster"):  # XGBoost
        scores = estimator.get_booster().get_score(importance_type="total_gain")
        gain = np.zeros(n_columns)
        names = estimator.get_booster().feature_names
        for key, value in scores.items():
            index = names.index(key) if names and key in names else int(key.lstrip("f"))
            gain[index] = value
        return gain
    return np.zeros(n_columns)


def gain_importance(model_path):
    """Gain importance of the stacked model's base models, per feature.

    Parameters
    ----------
    model_path : str or os.PathLike
        A model file of :func:`emo_gbm.modelio.save_model` holding (somewhere inside) a fitted
        :class:`~emo_gbm.ensemble.stacking.StackedModalityClassifier`.

    Returns
    -------
    importance : dict
        ``features`` (name -> total gain), ``by_modality`` and ``by_statistic`` (share of
        the total gain), ``estimator`` (the base models' class name).

    Raises
    ------
    ValueError
        When no stacked classifier with named features is found in the file.
    """
    from emo_gbm.modelio import load_model

    model = load_model(model_path)
    stacker = _find_stacker(model)
    if stacker is None:
        raise ValueError("no fitted stacked classifier (estimators_ per block) found in the model")
    names = getattr(stacker, "feature_names_in_", None)
    if names is None:
        featurizer = _find_attribute(model, "feature_names_out_")
        if featurizer is None or len(featurizer) != stacker.n_features_in_:
            raise ValueError("the stacked classifier was fitted without feature names")
        names = featurizer
    features = {}
    kinds = set()
    for block, estimator in stacker.estimators_.items():
        positions = stacker.blocks_[block]
        gain = _block_gain(estimator, len(positions))
        kinds.add(type(estimator).__name__)
        if gain.shape[0] != len(positions):
            raise ValueError(f"base model {block!r} reports {gain.shape[0]} features for {len(positions)} columns")
        for position, value in zip(positions, gain):
            name = str(names[position])
            features[name] = features.get(name, 0.0) + float(value)
    total = sum(features.values())
    meta_weight, meta_weight_kind = _meta_weights(stacker)
    by_modality, by_statistic = {}, {}
    for name, value in features.items():
        parts = name.split("__")
        modality = parts[0] if len(parts) > 1 else "other"
        statistic = parts[-1] if len(parts) > 1 else name
        by_modality[modality] = by_modality.get(modality, 0.0) + value
        by_statistic[statistic] = by_statistic.get(statistic, 0.0) + value
    share = (lambda d: {k: v / total for k, v in d.items()}) if total > 0 else (lambda d: {k: 0.0 for k in d})
    return {"features": features, "by_modality": share(by_modality), "by_statistic": share(by_statistic),
            "meta_weight": meta_weight, "meta_weight_kind": meta_weight_kind,
            "estimator": ", ".join(sorted(kinds)), "total_gain": total}


def _meta_weights(stacker):
    """The meta-learner's weight on each block's log-posteriors, and what that weight is.

    For a :class:`~emo_gbm.ensemble.pooling.PooledLogisticRegression` meta-learner, each block's weight
    in the product of experts (``expert_weights_``). For another linear meta-learner, the mean
    absolute coefficient on the block's columns: the inputs are the blocks' log-posteriors (one
    column per class, in block order), then the missing fractions, and all log-posteriors share
    one scale, so the size of their coefficients says how much the stack listens to each
    modality. ``(None, None)`` when the meta-learner is not linear.
    """
    final = getattr(stacker, "final_estimator_", None)
    experts = getattr(final, "expert_weights_", None)
    if experts is not None:
        return {block: float(w) for block, w in zip(stacker.blocks_, experts)}, "weight in the product of experts"
    coef = getattr(final, "coef_", None)
    if coef is None:
        return None, None
    coef = np.abs(np.asarray(coef, dtype=np.float64))
    n_classes = len(stacker.classes_)
    # a binary logistic regression has one coefficient row; multiclass one per class
    per_input = coef.mean(axis=0)
    weights = {}
    for b, block in enumerate(stacker.blocks_):
        weights[block] = float(per_input[b * n_classes:(b + 1) * n_classes].mean())
    return weights, "mean |coefficient|"


def _find_attribute(obj, name, depth=0):
    if depth > 4:
        return None
    if hasattr(obj, name) and not isinstance(obj, type):
        return getattr(obj, name)
    children = obj.values() if isinstance(obj, dict) else vars(obj).values() if hasattr(obj, "__dict__") else ()
    for child in children:
        found = _find_attribute(child, name, depth + 1)
        if found is not None:
            return found
    return None


def _block_title(block):
    """Axis label of a stacked block: the modality's title, and the model kind for a second
    model of the same modality (``face_nn_linear`` -> ``face\\nlinear``)."""
    for modality in MODALITIES:
        if block.startswith(f"{modality}_") and block != modality:
            return f"{MODALITY_TITLES.get(modality, modality)}\n{block[len(modality) + 1:]}"
    return MODALITY_TITLES.get(block, block)


def figure_importance(inputs, out_dir):
    """Gain importance of the stacked model's base models, by modality and by statistic.

    Parameters
    ----------
    inputs : object
        What the report read (built by :func:`write_report` from the build and data folders).
    out_dir : str or os.PathLike
        Report folder; the figure goes to ``OUT/figures/``.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    plt, fig = _figure("importance")
    left, middle, right = fig.subplots(1, 3, width_ratios=[1, 1, 2])
    if inputs.importance is None:
        for ax in (left, middle, right):
            _not_run(ax, "stacked model\nnot trained")
        return _save(plt, fig, out_dir, "importance")
    meta_weight = inputs.importance.get("meta_weight")
    if meta_weight:
        blocks = [m for m in MODALITIES if m in meta_weight] + [m for m in meta_weight if m not in MODALITIES]
        bars = middle.bar([_block_title(m) for m in blocks], [meta_weight[m] for m in blocks],
                          color=MODEL_COLOURS["bilstm"])
        middle.bar_label(bars, fmt="%.2f", fontsize=8)
        middle.set_ylabel(inputs.importance.get("meta_weight_kind") or "mean |coefficient|")
        middle.set_title("meta-learner weight on each\nbase model's log-posteriors", fontsize=10)
        middle.tick_params(axis="x", labelsize=7, rotation=90)
    else:
        _not_run(middle, "meta-learner\nnot linear")
    by_modality = inputs.importance["by_modality"]
    names = [m for m in MODALITIES if m in by_modality] + [m for m in by_modality if m not in MODALITIES]
    bars = left.bar([MODALITY_TITLES.get(m, m) for m in names], [by_modality[m] for m in names],
                    color=MODEL_COLOURS["stack"])
    left.bar_label(bars, fmt="%.2f", fontsize=8)
    left.set_ylabel("share of total gain")
    left.set_title("gain by modality\n(each base model's own)", fontsize=10)
    left.tick_params(axis="x", labelsize=8, rotation=20)
    by_statistic = sorted(inputs.importance["by_statistic"].items(), key=lambda kv: -kv[1])
    bars = right.bar([k for k, _ in by_statistic], [v for _, v in by_statistic], color="#8c8c8c")
    right.bar_label(bars, fmt="%.2f", fontsize=8)
    right.set_title("by window statistic, all modalities", fontsize=10)
    right.tick_params(axis="x", rotation=45, labelsize=8)
    fig.suptitle(f"Gain importance of the stacked model's per-modality base models "
                 f"({inputs.importance['estimator']})")
    return _save(plt, fig, out_dir, "importance")
