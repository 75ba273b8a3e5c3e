"""Pictures: a loss with its gradient and Hessian, a comparison of losses, a learning curve.

Needs matplotlib (the ``plot`` extra: ``pip install '.[plot]'`` in a checkout, or ``pip install
matplotlib``), imported on first use; without a display (and without ``MPLBACKEND`` set) the Agg
backend is used. Each function
returns a matplotlib Figure made with pyplot, so it shows in notebooks and with ``plt.show()``;
``fig.savefig("out.png")`` writes it at ``figsize * dpi`` pixels (and ``plt.close(fig)`` frees it).

::

    from boostloss import plotting
    plotting.plot_loss("huber")                        # delta = 0.5, 1, 2 overlaid
    plotting.plot_loss("quantile:alpha=[0.1,0.9]", "absolute_error")
    plotting.plot_comparison(bl.compare.compare_losses(X, y))
    plotting.plot_learning_curve(model)                # BoostRegressor fitted with an eval_set
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np

from ._booster import install_hint
from .compare import loss_task
from .losses.base import Loss
from .registry import LOSSES, get_loss, get_metric, parse_spec, spec

# the parameter swept when a loss is plotted by its bare name, and its values
SWEEPS = {
    "huber": ("delta", (0.5, 1.0, 2.0)),
    "pseudo_huber": ("delta", (0.5, 1.0, 2.0)),
    "fair": ("c", (0.5, 1.0, 2.0)),
    "quantile": ("alpha", (0.1, 0.5, 0.9)),
    "expectile": ("alpha", (0.1, 0.5, 0.9)),
    "tweedie": ("power", (1.2, 1.5, 1.8)),
    "logistic": ("label_smoothing", (0.0, 0.1, 0.3)),
    "focal": ("gamma", (0.0, 1.0, 2.0, 5.0)),
    "symmetric_cross_entropy": ("beta", (0.0, 0.5, 1.0)),
    "dice": ("eps", (0.1, 1.0, 3.0)),
    "softmax_cross_entropy": ("label_smoothing", (0.0, 0.1, 0.3)),
    "multiclass_focal": ("gamma", (0.0, 1.0, 2.0, 5.0)),
}
MULTICLASS_PLOT_CLASSES = 3


def _pyplot():
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError(f"boostloss.plotting needs matplotlib: {install_hint('plot', 'matplotlib')}") from err
    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND") and _headless():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _headless() -> bool:
    return sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# --------------------------------------------------------------------------- loss curves
def expand_losses(*losses) -> list[Loss]:
    """Losses from Loss objects and registry names; a list value sweeps a parameter
    (``"huber:delta=[0.5,1,2]"`` is three losses). A single bare name listed in ``SWEEPS``
    sweeps that parameter over its default values unless the parameter is given."""
    out = []
    for item in losses:
        if isinstance(item, Loss):
            out.append(item)
            continue
        name, params = parse_spec(item)
        if len(losses) == 1 and name in SWEEPS and SWEEPS[name][0] not in params:
            key, values = SWEEPS[name]
            params[key] = list(values)
        defaults = _defaults(name)
        swept = [k for k, v in params.items() if isinstance(v, (list, tuple)) and _is_number(defaults.get(k))]
        for values in itertools.product(*(params[k] for k in swept)):
            out.append(get_loss(name, **{**params, **dict(zip(swept, values, strict=True))}))
    if not out:
        raise ValueError("no loss to plot")
    return out


def _defaults(name):
    import inspect

    cls = LOSSES.get(name)
    return {} if cls is None else {k: p.default for k, p in inspect.signature(cls).parameters.items()}


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def curve_labels(losses) -> list[str]:
    """Legend labels that show what differs: the parameters that vary between losses of the
    same name or are set away from their defaults, and, between losses of different names,
    their numeric parameters too; the name itself unless all share it."""
    one_name = len({loss.name for loss in losses}) == 1
    labels = []
    for loss in losses:
        raw = loss.get_params()
        params = {k: _short(v) for k, v in raw.items()}
        defaults = {k: _short(v) for k, v in _defaults(loss.name).items()}
        same = [{k: _short(v) for k, v in other.get_params().items()} for other in losses if other.name == loss.name]
        shown = ",".join(f"{k}={v}" for k, v in params.items()
                         if v != defaults.get(k) or any(p[k] != v for p in same)
                         or (not one_name and _is_number(raw[k])))
        labels.append(shown if one_name and shown else loss.name + (f":{shown}" if shown else ""))
    return labels


def _short(value):
    return f"{value:g}" if _is_number(value) else str(value)


def _family(loss: Loss) -> tuple[str, str]:
    return loss_task(loss), loss.link.name


def loss_curves(loss: Loss, x) -> dict:
    """The loss, gradient, exact Hessian and policy Hessian along ``x``, and what ``x`` is.

    Regression: ``x`` is the raw score minus the raw score of a reference target (0, or 1 when
    the loss needs positive or non-zero targets), i.e. the residual for identity-link losses.
    Binary: ``x`` is the raw score (log-odds, or margin) of a positive row. Multiclass: ``x`` is the
    score of the true class among three, the others 0; derivatives are taken along it.
    """
    loss = get_loss(loss)
    if loss.multi_output:
        raise ValueError(f"{loss!r} gives several outputs per row; plot_loss draws losses of one score per row "
                         "(or one per class)")
    x = np.asarray(x, dtype=np.float64)
    task = loss_task(loss)
    if task == "binary":
        what = "log-odds" if loss.link.name == "logit" else "margin"
        y, raw, label = np.ones_like(x), x, f"raw score F ({what}) of a positive row"
    elif task == "multiclass":
        k = MULTICLASS_PLOT_CLASSES
        y = np.zeros_like(x)
        raw = np.column_stack([x, np.zeros((x.size, k - 1))])
        label = f"score of the true class ({k} classes, the others at 0)"
    else:
        y0 = _reference_target(loss)
        y = np.full_like(x, y0)
        raw = float(loss.link(np.array([y0]))[0]) + x
        identity = loss.link.name == "identity"
        label = ("residual F - y" if identity else f"raw score F - {loss.link.name} y") + f"  (y = {y0:g})"
    with np.errstate(all="ignore"):
        values = loss.loss(y, raw)
        grad, hess = loss.exact_grad_hess(y, raw)
        _, policy = loss.grad_hess(y, raw)
    if task == "multiclass":
        grad, hess, policy = grad[:, 0], hess[:, 0], policy[:, 0]
    name = getattr(loss, "hessian", "exact")
    return {"x": x, "xlabel": label, "loss": values, "grad": grad, "hess": hess, "policy_hess": policy,
            "policy": None if name == "exact" else name}


def _reference_target(loss: Loss) -> float:
    if loss.link.name != "identity":
        return 1.0
    try:
        loss.validate([0.0])
        return 0.0
    except ValueError:
        return 1.0


def _default_xlim(losses) -> tuple[float, float]:
    task = loss_task(losses[0])
    if task != "regression":
        return (-6.0, 6.0)
    if losses[0].name == "squared_log_error":
        return (-0.95, 4.0)
    if losses[0].link.name != "identity":
        return (-3.0, 3.0)
    scales = [float(v) for loss in losses for k, v in loss.get_params().items() if k in ("delta", "c")]
    scale = max([1.0, *scales])
    return (-3.0 * scale, 3.0 * scale)


def plot_loss(*losses, xlim=None, num=401, figsize=(12.0, 4.0), dpi=100):
    """The loss, its gradient and its Hessian against the residual (or margin), one curve per
    loss; the Hessian handed to boosters (the ``hessian`` policy), where it differs from the
    exact one, is dashed. ``losses`` are Loss objects or names (see ``expand_losses``). Losses
    of one task and link share a row of three panels; each other task (or link) gets a row of
    its own, ``figsize`` being the size of one row. Returns the Figure."""
    plt = _pyplot()
    losses = expand_losses(*losses)
    if xlim is not None and not xlim[0] < xlim[1]:
        raise ValueError(f"xlim must be increasing, got {xlim[0]} and {xlim[1]}")
    families = {}
    for loss, label in zip(losses, curve_labels(losses), strict=True):
        families.setdefault(_family(loss), []).append((loss, label))
    fig, grid = plt.subplots(len(families), 3, figsize=(figsize[0], figsize[1] * len(families)), dpi=dpi,
                             layout="constrained", squeeze=False)
    colour = 0
    for axes, members in zip(grid, families.values(), strict=True):
        low, high = xlim if xlim is not None else _default_xlim([loss for loss, _ in members])
        x = np.linspace(low, high, num)
        policies = set()
        for loss, label in members:
            curves = loss_curves(loss, x)
            color = f"C{colour % 10}"
            colour += 1
            axes[0].plot(x, curves["loss"], color=color, label=label)
            axes[1].plot(x, curves["grad"], color=color)
            axes[2].plot(x, curves["hess"], color=color)
            if curves["policy"] is not None:
                policies.add(curves["policy"])
                axes[2].plot(x, curves["policy_hess"], color=color, linestyle="--")
        for ax, title in zip(axes, ("loss", "gradient", "Hessian"), strict=True):
            ax.set_title(title)
            ax.set_xlabel(curves["xlabel"])
            ax.axhline(0.0, color="0.7", linewidth=0.8, zorder=0)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize="small")
        if policies:
            from matplotlib.lines import Line2D

            axes[2].legend([Line2D([], [], color="0.3"), Line2D([], [], color="0.3", linestyle="--")],
                           ["exact", "policy: " + ", ".join(sorted(policies))], fontsize="small")
    names = list(dict.fromkeys(loss.name for loss in losses))
    fig.suptitle(f"{', '.join(names)}: loss, gradient and Hessian")
    return fig


# --------------------------------------------------------------------------- comparison
def plot_comparison(comparison, *, figsize=(11.0, 4.0), dpi=100):
    """One panel per metric and one for the fit time: each fold's score as a dot, the mean
    with its standard deviation as a bar, the best loss on each metric in red. Takes a
    ``boostloss.compare.Comparison``. Returns the Figure."""
    plt = _pyplot()
    losses, metrics = comparison.losses, comparison.metrics
    panels = [*metrics, "fit time (s)"]
    fig, axes = plt.subplots(1, len(panels), figsize=figsize, dpi=dpi, sharey=True, layout="constrained")
    axes = np.atleast_1d(axes)
    rows = np.arange(len(losses))
    for ax, panel in zip(axes, panels, strict=True):
        if panel in metrics:
            values = [comparison.scores[loss][panel] for loss in losses]
            best = losses.index(comparison.best(panel))
            direction = comparison.direction(panel)
            ax.set_title(f"{panel} ({direction} is better)", fontsize="medium")
        else:
            values = [comparison.fit_times[loss] for loss in losses]
            best = int(np.argmin([np.mean(v) for v in values]))
            ax.set_title(panel, fontsize="medium")
        for row, fold_values in zip(rows, values, strict=True):
            color = "C3" if row == best else "C0"
            ax.scatter(fold_values, np.full(fold_values.size, row + 0.2), s=14, color=color, alpha=0.5, linewidths=0)
            spread = np.std(fold_values, ddof=1) if fold_values.size > 1 else 0.0
            ax.errorbar(np.mean(fold_values), row, xerr=spread, fmt="o", color=color, capsize=3, markersize=6)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(rows, losses)
    axes[0].set_ylim(len(losses) - 0.5, -0.5)
    fig.suptitle(f"{comparison.booster}, {comparison.n_splits}-fold cross-validation ({comparison.task})")
    return fig


# --------------------------------------------------------------------------- learning curves
def evaluation_history(source) -> tuple[dict, int | None]:
    """``({data set: {metric: [values per iteration]}}, best iteration or None)`` from a history
    dict (``lgb.record_evaluation``, ``xgb.train(evals_result=...)``), a fitted
    ``BoostRegressor``/``BoostClassifier``, or a booster estimator evaluated on an eval set."""
    best = name = None
    if hasattr(source, "estimator_") and hasattr(source, "best_iteration_"):  # boostloss.sklearn
        name = spec(get_metric(source.eval_metric or source.loss_))
        best, source = source.best_iteration_, source.estimator_
    if isinstance(source, dict):
        history = source
    elif isinstance(getattr(source, "evals_result_", None), dict):  # LightGBM estimators
        history = source.evals_result_
    elif hasattr(source, "get_evals_result"):  # CatBoost
        history = source.get_evals_result()
    elif callable(getattr(source, "evals_result", None)):  # XGBoost estimators
        history = source.evals_result()
    else:
        raise TypeError(f"no evaluation history in {type(source).__name__}: pass a dict "
                        "{data set: {metric: values}} or a model fitted with an eval_set")
    history = {data: {(name or m) if m == "CatBoostMetric" else m: list(v) for m, v in metrics.items() if len(v)}
               for data, metrics in history.items()}  # CatBoost names a custom metric by its class
    history = {data: metrics for data, metrics in history.items() if metrics}
    if not history:
        raise ValueError("the evaluation history is empty: was the model fitted with an eval_set?")
    return history, best


def plot_learning_curve(history, *, best_iteration=None, figsize=(8.0, 4.0), dpi=100):
    """Each metric against the boosting iteration, one line per evaluated data set, with the
    best iteration (given, or the model's after early stopping) marked. ``history`` is anything
    ``evaluation_history`` reads. Returns the Figure."""
    plt = _pyplot()
    history, found = evaluation_history(history)
    best = found if best_iteration is None else best_iteration
    metrics = list(dict.fromkeys(m for per_set in history.values() for m in per_set))
    fig, axes = plt.subplots(1, len(metrics), figsize=figsize, dpi=dpi, layout="constrained", squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for name, per_set in history.items():
            if metric in per_set:
                ax.plot(np.arange(len(per_set[metric])), per_set[metric], label=name)
        if best is not None:
            ax.axvline(best, color="0.4", linestyle=":", label=f"best iteration {best}")
        ax.set_xlabel("iteration")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("learning curve")
    return fig
