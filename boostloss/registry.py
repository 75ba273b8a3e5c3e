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
    L.Logistic, L.Focal, L.Exponential, L.SymmetricCrossEntropy,
    L.Hinge, L.SquaredHinge, L.ModifiedHuber, L.Perceptron,
    L.SoftmaxCrossEntropy, L.MulticlassFocal, L.MulticlassSymmetricCrossEntropy,
)}
METRICS = {cls.name: cls for cls in (M.MAE, M.RMSE, M.MAPE, M.SMAPE, M.Pinball, M.LogLoss)}


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
    """A loss from a Loss object (returned as is) or a name such as ``"huber:delta=2"``."""
    if isinstance(spec, L.Loss):
        if params:
            raise ValueError("parameters are given with the name, not with a Loss object")
        return spec
    return _build(LOSSES, "loss", spec, params)


def get_metric(spec, **params) -> M.Metric:
    """A metric from a Metric, a Loss (its weighted mean), or a metric or loss name."""
    if isinstance(spec, M.Metric):
        return spec
    if isinstance(spec, L.Loss):
        return M.LossMetric(spec)
    name, _ = parse_spec(spec)
    if name in METRICS:
        return _build(METRICS, "metric", spec, params)
    if name in LOSSES:
        return M.LossMetric(get_loss(spec, **params))
    raise ValueError(f"unknown metric {name!r}; available: {', '.join(available_metrics())}")


def spec(obj) -> str:
    """The registry string of a loss or metric: its name and the parameters that differ from the defaults."""
    if isinstance(obj, M.LossMetric):
        return spec(obj.loss)
    defaults = {k: p.default for k, p in inspect.signature(type(obj)).parameters.items()}
    params = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in obj.get_params().items()}
    changed = [f"{k}={v}" for k, v in params.items() if v != defaults.get(k)]
    return obj.name + (":" + ",".join(changed) if changed else "")
