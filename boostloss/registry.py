"""Names for losses and metrics: ``"huber:delta=2"`` <-> ``Huber(delta=2)``."""

from __future__ import annotations

import ast
import inspect

import numpy as np

from . import losses as L
from . import metrics as M

LOSSES = {cls.name: cls for cls in (
    L.SquaredError, L.AbsoluteError, L.Huber, L.PseudoHuber, L.LogCosh, L.Quantile, L.Expectile,
    L.Fair, L.MAPE, L.SquaredLogError, L.Poisson, L.Gamma, L.Tweedie,
    L.Logistic, L.Focal, L.Exponential, L.SymmetricCrossEntropy, L.Dice, L.GHM,
    L.Hinge, L.SquaredHinge, L.ModifiedHuber, L.Perceptron,
    L.SoftmaxCrossEntropy, L.MulticlassFocal, L.MulticlassSymmetricCrossEntropy, L.MulticlassHinge,
    L.MulticlassSquaredHinge,
    L.GaussianNLL, L.LogNormalNLL, L.GammaNLL, L.NegativeBinomialNLL, L.StudentTNLL,
    L.MultiQuantile, L.MultilabelLogistic, L.MultilabelFocal,
    L.SoftCrossEntropy,
)}
METRICS = {cls.name: cls for cls in (M.MAE, M.RMSE, M.MAPE, M.SMAPE, M.Pinball, M.R2, M.MSLE, M.RMSLE,
                                     M.MedianAbsoluteError, M.LogLoss, M.Brier, M.F1, M.KLDivergence)}


# --------------------------------------------------------------------------- PyTorch / Keras names
# alias -> (registry name, {their parameter: ours}, fixed parameters, how the mathematics relates)
ALIASES = {
    "mse": ("squared_error", {}, {}, "torch MSELoss, Keras mean_squared_error: (y - F)^2, twice r^2/2"),
    "l2": ("squared_error", {}, {}, "as mse"),
    "mean_squared_error": ("squared_error", {}, {}, "as mse"),
    "l1": ("absolute_error", {}, {}, "torch L1Loss: |y - F|"),
    "mae": ("absolute_error", {}, {}, "Keras mean_absolute_error: |y - F|"),
    "mean_absolute_error": ("absolute_error", {}, {}, "as mae"),
    "smooth_l1": ("huber", {"beta": "delta"}, {}, "torch SmoothL1Loss(beta): Huber(delta=beta) / beta, the "
                  "same Newton steps"),
    "mean_absolute_percentage_error": ("mape", {}, {}, "Keras: 100 |y - F| / |y|, 100 times ours"),
    "msle": ("squared_log_error", {}, {}, "Keras mean_squared_logarithmic_error: twice ours"),
    "mean_squared_logarithmic_error": ("squared_log_error", {}, {}, "as msle"),
    "logcosh": ("log_cosh", {}, {}, "Keras log_cosh (scale 1)"),
    "poisson_nll": ("poisson", {}, {}, "torch PoissonNLLLoss(log_input=True): e^F - y F, ours less a "
                    "term of y alone"),
    "bce": ("logistic", {}, {}, "torch BCELoss on sigmoid(F): the same loss; soft targets need soft_labels=True"),
    "bce_with_logits": ("logistic", {}, {}, "torch BCEWithLogitsLoss(pos_weight)"),
    "binary_crossentropy": ("logistic", {}, {}, "Keras, with the same label_smoothing"),
    "soft_margin": ("logistic", {}, {}, "torch SoftMarginLoss log(1 + e^(-s F)) on s = 2y - 1"),
    "binary_focal_crossentropy": ("focal", {}, {}, "Keras BinaryFocalCrossentropy(gamma, alpha with "
                                  "apply_class_balancing=True)"),
    "kl_div": ("logistic", {}, {"soft_labels": True}, "torch KLDivLoss for two classes: soft-label "
               "cross-entropy, the KL divergence plus the targets' entropy (k classes: soft_cross_entropy)"),
    "gaussian_nll_loss": ("gaussian_nll", {}, {}, "torch GaussianNLLLoss(full=True) with var = exp(2 log_scale): "
                          "the same loss on the outputs (mean, log_scale)"),
    "multilabel_soft_margin": ("multilabel_logistic", {}, {}, "torch MultiLabelSoftMarginLoss: the mean over "
                               "the labels, 1/k of ours"),
    "kl_divergence": ("logistic", {}, {"soft_labels": True}, "Keras, as kl_div"),
    "cross_entropy": ("softmax_cross_entropy", {"weight": "class_weight"}, {},
                      "torch CrossEntropyLoss(weight, label_smoothing) on class indices"),
    "nll": ("softmax_cross_entropy", {"weight": "class_weight"}, {}, "torch NLLLoss on log_softmax(F)"),
    "categorical_crossentropy": ("softmax_cross_entropy", {}, {}, "Keras, on one score per class"),
    "sparse_categorical_crossentropy": ("softmax_cross_entropy", {}, {}, "Keras, on class indices"),
    "multi_margin": ("multiclass_hinge", {"weight": "class_weight"}, {"form": "weston_watkins"},
                     "torch MultiMarginLoss(p, margin, weight): Weston-Watkins, 1/k of ours; p=2 is "
                     "multiclass_squared_hinge"),
    "categorical_hinge": ("multiclass_hinge", {}, {"form": "crammer_singer"},
                          "Keras CategoricalHinge: max(0, 1 + max_{j != y} F_j - F_y), Crammer-Singer"),
}
# names of losses that do not apply to boosting one score (or one score per class) per row
NOT_APPLICABLE = {
    "hinge_embedding": "torch HingeEmbeddingLoss scores distances; on a raw score it is linear for "
                       "positives, without a minimum",
    "margin_ranking": "torch MarginRankingLoss scores pairs of rows (a ranking objective)",
    "triplet_margin": "torch TripletMarginLoss scores triplets of embeddings",
    "triplet_margin_with_distance": "torch TripletMarginWithDistanceLoss scores triplets of embeddings",
    "cosine_embedding": "torch CosineEmbeddingLoss scores pairs of embedding vectors",
    "cosine_similarity": "Keras CosineSimilarity scores the direction of an output vector",
    "ctc": "torch CTCLoss aligns output sequences with label sequences",
    "nce": "noise-contrastive estimation samples negative classes of a huge vocabulary",
    "adaptive_log_softmax": "torch AdaptiveLogSoftmaxWithLoss is a softmax over clustered vocabularies "
                            "for neural nets",
    "multilabel_margin": "torch MultiLabelMarginLoss: a margin between each row's positive and negative labels "
                         "(a ranking of the labels; use multilabel_logistic)",
    "dsc": "the self-adjusting Dice of Li et al. (2020) per row on sigmoid(F): its factor (1 - p) p is even in "
           "F, so it cannot tell a confident positive from a confident negative (use dice)",
    "self_adjusting_dice": "as dsc",
}
# names of losses that apply but are not in boostloss yet
NOT_YET: dict[str, str] = {}


def describe_aliases() -> list[dict]:
    """Every PyTorch / Keras name: what it is here, or why it is not."""
    out = [{"name": name, "loss": target, "parameters": {**{k: f"-> {v}" for k, v in renames.items()}, **fixed},
            "note": note} for name, (target, renames, fixed, note) in ALIASES.items()]
    for table, status in ((NOT_APPLICABLE, "not applicable"), (NOT_YET, "not in boostloss yet")):
        out += [{"name": name, "loss": None, "parameters": {}, "note": f"{status}: {why}"}
                for name, why in table.items()]
    return out


def available_losses() -> list[str]:
    """Registry names of every loss."""
    return sorted(LOSSES)


def multiclass_names() -> list[str]:
    """Registry names of the losses with k-class forms (raw scores of shape (n, k))."""
    return sorted(name for name, cls in LOSSES.items() if cls.is_multiclass)


def available_metrics() -> list[str]:
    """Registry names of every metric: the plain metrics, then every loss (as its mean)."""
    return sorted(METRICS) + [name for name in sorted(LOSSES) if name not in METRICS]


def parse_spec(spec: str) -> tuple[str, dict]:
    """``"quantile:alpha=0.9,hessian=unit"`` -> ``("quantile", {"alpha": 0.9, "hessian": "unit"})``."""
    name, _, rest = spec.strip().partition(":")
    params = {}
    for item in filter(None, (part.strip() for part in _split_top_level(rest))):
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"cannot read {item!r} in {spec!r}: parameters are written key=value")
        try:
            params[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            params[key.strip()] = value.strip()
    return name.strip(), params


def _split_top_level(text: str) -> list[str]:
    """Split at the commas outside brackets, so ``class_weight=[1, 2]`` stays one item."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char in "([{") - (char in ")]}")
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


def _build(table: dict, kind: str, spec: str, params: dict):
    name, parsed = parse_spec(spec)
    if name not in table:
        raise ValueError(f"unknown {kind} {name!r}; available: {', '.join(sorted(table))}")
    cls = table[name]
    try:
        return cls(**{**parsed, **params})
    except TypeError as err:
        allowed = [p for p in inspect.signature(cls).parameters]
        raise ValueError(f"{kind} {name!r} takes the parameters {allowed}: {err}") from None


def get_loss(spec, **params) -> L.Loss:
    """A loss from a Loss object (returned as is) or a name such as ``"huber:delta=2"``; the
    PyTorch and Keras names in ``ALIASES`` give boostloss's loss (``"smooth_l1:beta=2"`` is
    ``Huber(delta=2)``), those in ``NOT_APPLICABLE`` a ValueError saying why."""
    if isinstance(spec, L.Loss):
        if params:
            raise ValueError("parameters are given with the name, not with a Loss object")
        return spec
    name, parsed = parse_spec(spec)
    if name in NOT_APPLICABLE and name not in LOSSES:
        raise ValueError(f"loss {name!r} does not apply to boosting: {NOT_APPLICABLE[name]}")
    if name in NOT_YET and name not in LOSSES:
        raise ValueError(f"loss {name!r} ({NOT_YET[name]}) is not in boostloss yet")
    if name in ALIASES and name not in LOSSES:
        target, renames, fixed, _ = ALIASES[name]
        given = {renames.get(k, k): v for k, v in {**parsed, **params}.items()}
        if name == "multi_margin":  # torch picks the power with p
            power = given.pop("p", 1)
            if power not in (1, 2):
                raise ValueError(f"loss 'multi_margin' takes p = 1 or 2, got {power!r}")
            target = "multiclass_squared_hinge" if power == 2 else target
        clash = sorted(set(given) & set(fixed))
        if clash:
            raise ValueError(f"loss {name!r} is {target} with {fixed}; it takes no {', '.join(clash)}")
        return _build(LOSSES, "loss", target, {**given, **fixed})
    return _build(LOSSES, "loss", spec, params)


def get_metric(spec, **params) -> M.Metric:
    """A metric from a Metric, a Loss (its weighted mean), or a metric or loss name. A loss whose
    rows are weighed by a statistic of the set (GHM) gives the log loss instead: its own mean weighs
    each evaluation set by that set's density, which moves with the predictions, so its values do
    not compare from round to round (early stopping on it stopped at the first rounds)."""
    if isinstance(spec, M.Metric):
        return spec
    if isinstance(spec, L.Loss):
        return M.LogLoss() if spec.round_statistic else M.LossMetric(spec)
    name, _ = parse_spec(spec)
    if name in METRICS:
        return _build(METRICS, "metric", spec, params)
    if name in LOSSES or name in ALIASES:
        return get_metric(get_loss(spec, **params))
    raise ValueError(f"unknown metric {name!r}; available: {', '.join(available_metrics())}")


def spec(obj) -> str:
    """The registry string of a loss or metric: its name and the parameters that differ from the defaults."""
    if isinstance(obj, M.LossMetric):
        return spec(obj.loss)
    defaults = {k: p.default for k, p in inspect.signature(type(obj)).parameters.items()}
    params = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in obj.get_params().items()}
    changed = [f"{k}={v}" for k, v in params.items() if v != defaults.get(k)]
    return obj.name + (":" + ",".join(changed) if changed else "")
