"""The ``boostloss`` command: which loss on my data, and how do its parameters behave?

::

    boostloss list [--json]                          every loss and metric
    boostloss compare [DATA] --target COL ...        cross-validate losses on a CSV or Parquet file
    boostloss plot LOSS[:params] ... [-o out.png]    a loss, its gradient and its Hessian
    boostloss compile [--losses ...] [--boosters ...] compile the kernels fits use into numba's cache

Errors that come from the input (a missing file, an unknown column, loss or metric, a loss that
does not fit the task, bad booster parameters) print one line ``boostloss: error: ...`` on
stderr and exit with status 2, like argparse's own usage errors; ``--traceback`` shows where.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from . import __version__
from ._booster import install_hint
from .compare import (
    BOOSTERS,
    DISTRIBUTION_SCORES,
    SCIKIT_LEARN_SCORES,
    TASKS,
    compare_losses,
    infer_task,
    loss_task,
    robust_scale,
    scikit_learn_score_direction,
    with_target_scale,
)
from .losses.base import REAL
from .registry import LOSSES, METRICS, _split_top_level, describe_aliases

EXIT_ERROR = 2

# one-line formulas; r = F - y for regression, F the raw score, p the probability of the true class
LOSS_FORMULAS = {
    "squared_error": "r^2 / 2",
    "absolute_error": "|r|",
    "huber": "r^2/2 if |r| <= delta else delta (|r| - delta/2)",
    "pseudo_huber": "delta^2 (sqrt(1 + (r/delta)^2) - 1)",
    "log_cosh": "scale^2 log cosh(r / scale)",
    "quantile": "max(alpha (y - F), (1 - alpha) (F - y))",
    "expectile": "|alpha - 1{y < F}| r^2",
    "fair": "c^2 (|r|/c - log(1 + |r|/c))",
    "mape": "|r| / |y|",
    "squared_log_error": "(log1p F - log1p y)^2 / 2",
    "poisson": "exp(F) - y F + y log y - y",
    "gamma": "y exp(-F) + F - 1 - log y",
    "tweedie": "Tweedie deviance of mu = exp(F), power p",
    "logistic": "-pos_weight t log sigmoid(F) - (1 - t) log sigmoid(-F), t the smoothed label",
    "focal": "-alpha_t (1 - p)^gamma log p",
    "exponential": "exp(-s F), s = 2y - 1",
    "symmetric_cross_entropy": "alpha (-log p) + 4 beta (1 - p)",
    "dice": "1 - (2 p y + eps) / (p^2 + y^2 + eps), p = sigmoid(F)",
    "hinge": "max(0, 1 - s F), s = 2y - 1",
    "perceptron": "max(0, -s F), s = 2y - 1",
    "squared_hinge": "max(0, 1 - s F)^2, s = 2y - 1",
    "modified_huber": "max(0, 1 - s F)^2 if s F >= -1 else -4 s F, s = 2y - 1",
    "softmax_cross_entropy": "-c_y sum_j t_j log p_j, t the smoothed one-hot label",
    "multiclass_focal": "-alpha_y (1 - p_y)^gamma log p_y",
    "multiclass_hinge": "c_y max(0, m + max_{j != y} F_j - F_y) (weston_watkins: sum_{j != y} max(0, m - F_y + F_j))",
    "multiclass_squared_hinge": "c_y max(0, m + max_{j != y} F_j - F_y)^2 (weston_watkins: the sum of the squares)",
}
METRIC_FORMULAS = {
    "mae": "mean |y - pred|",
    "rmse": "sqrt(mean (y - pred)^2)",
    "smape": "mean 2 |y - pred| / (|y| + |pred|)",
    "pinball": "mean max(alpha (y - pred), (alpha - 1) (y - pred))",
    "mape": "mean |y - pred| / |y|",
    "log_loss": "mean -log p of the true class",
    "r2": "1 - sum w (y - pred)^2 / sum w (y - mean y)^2",
    "msle": "mean (log1p y - log1p pred)^2",
    "rmsle": "sqrt(mean (log1p y - log1p pred)^2)",
    "median_absolute_error": "weighted median |y - pred|",
    "brier": "mean (p - y)^2; k >= 3 classes: mean sum_j (p_j - 1{y = j})^2",
    "f1": "2 TP / (2 TP + FP + FN) at p > threshold (the Dice coefficient); k classes: macro mean",
    "kl_div": "mean t log(t / p) + (1 - t) log((1 - t) / (1 - p)), t in [0, 1]",
}
TARGETS = {"mape": "y != 0"}


class UsageError(Exception):
    """A problem with the command line or its input: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------- boostloss list
def describe_losses() -> list[dict]:
    """Every loss: name, class, task, parameters (defaults), Hessian policies, link, targets, formula."""
    out = []
    for name, cls in LOSSES.items():
        try:
            loss = cls()
        except (TypeError, ValueError):  # a loss without defaults for every parameter: its class says enough
            loss = cls.__new__(cls)
        out.append({
            "name": name, "class": cls.__name__, "task": loss_task(loss),
            "parameters": _parameters(cls), "hessian_policies": list(cls.hessian_policies),
            "link": loss.link.name, "targets": _targets(loss), "formula": _formula(name, cls, LOSS_FORMULAS),
        })
    order = (*TASKS, "multilabel", "soft labels")  # multi-output losses on (n, k) targets, which compare does not take
    return sorted(out, key=lambda entry: order.index(entry["task"]))  # stable: registry order within a task


def describe_metrics() -> list[dict]:
    """Every metric that is not a loss (every loss is a metric too: its mean)."""
    out = []
    for name in sorted(METRICS):
        cls = METRICS[name]
        out.append({"name": name, "class": cls.__name__, "parameters": _parameters(cls),
                    "higher_is_better": bool(cls.higher_is_better), "formula": _formula(name, cls, METRIC_FORMULAS)})
    for name, (tasks, formula) in SCIKIT_LEARN_SCORES.items():  # what compare also accepts
        out.append({"name": name, "class": "scikit-learn", "parameters": {}, "tasks": tasks,
                    "higher_is_better": scikit_learn_score_direction(name),
                    "formula": f"{formula} (compare only; {tasks})"})
    for name, (higher, needs, _, formula) in DISTRIBUTION_SCORES.items():
        entry = {"name": name, "class": "compare", "parameters": {"level": 0.9} if needs == "interval" else {},
                 "tasks": "regression", "higher_is_better": bool(higher),
                 "formula": f"{formula} (compare only; losses that predict "
                            f"{'a distribution' if needs == 'distribution' else 'a distribution or quantiles'})"}
        if higher is None:
            entry["better"] = "closest to level"
        out.append(entry)
    return out


def _parameters(cls) -> dict:
    return {k: (p.default if p.default is not inspect.Parameter.empty else None)
            for k, p in inspect.signature(cls).parameters.items()}


def _targets(loss) -> str:
    task = loss_task(loss)
    if task == "binary":
        return "0/1"
    if task == "multiclass":
        return "0..k-1"
    if loss.name in TARGETS:
        return TARGETS[loss.name]
    domain = loss.domain
    if domain == REAL:
        return "real"
    parts = []
    if np.isfinite(domain.low):
        parts.append(f"y {'>=' if domain.low_inclusive else '>'} {domain.low:g}")
    if np.isfinite(domain.high):
        parts.append(f"y {'<=' if domain.high_inclusive else '<'} {domain.high:g}")
    return ", ".join(parts)


def _formula(name, cls, table) -> str:
    formula = getattr(cls, "formula", None) or table.get(name)
    if formula:
        return formula
    doc = " ".join((cls.__doc__ or "").split())  # a loss added later: the first sentence of its docstring
    return doc.split(". ")[0].replace("``", "")


def _format_parameters(entry) -> str:
    items = []
    for key, default in entry["parameters"].items():
        if key == "hessian" and entry.get("hessian_policies"):
            items.append(f"hessian={'|'.join(entry['hessian_policies'])}")
        else:
            items.append(f"{key}={default!r}" if isinstance(default, str) else f"{key}={default}")
    return ", ".join(items) or "-"


def run_list(args) -> int:
    losses, metrics, aliases = describe_losses(), describe_metrics(), describe_aliases()
    if args.json:
        print(json.dumps({"losses": losses, "metrics": metrics, "aliases": aliases}, indent=2))
        return 0
    print("Losses (r = F - y; F the raw score; p the predicted probability of the true class)")
    rows = [(e["name"], e["task"], e["link"], e["targets"], _format_parameters(e), e["formula"]) for e in losses]
    _print_table(("name", "task", "link", "targets", "parameters (defaults; hessian: default first)", "formula"), rows)
    print()
    print("Metrics (every loss is a metric too: its mean)")
    rows = [(e["name"], e.get("better") or ("higher" if e["higher_is_better"] else "lower"), _format_parameters(e),
             e["formula"]) for e in metrics]
    _print_table(("name", "better", "parameters", "formula"), rows)
    print()
    print("PyTorch and Keras names")
    rows = [(e["name"], e["loss"] or "-", ", ".join(f"{k} {v}" if str(v).startswith("->") else f"{k}={v}"
                                                   for k, v in e["parameters"].items()) or "-", e["note"])
            for e in aliases]
    _print_table(("name", "boostloss loss", "parameters", "how it relates"), rows)
    print()
    print("Write a loss or metric with parameters as name:key=value,key=value, e.g. huber:delta=2")
    return 0


def _print_table(header, rows):
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


# --------------------------------------------------------------------------- boostloss compare
def split_specs(values) -> list[str]:
    """``["huber:delta=2,log_cosh", "quantile:alpha=0.9,hessian=unit"]`` ->
    ``["huber:delta=2", "log_cosh", "quantile:alpha=0.9,hessian=unit"]``: items are split at
    top-level commas, and a ``key=value`` item continues the parameters of the one before."""
    out = []
    for value in values or []:
        for item in (part.strip() for part in _split_top_level(value)):
            if not item:
                continue
            if out and ":" not in item and "=" in item and ":" in out[-1]:
                out[-1] = f"{out[-1]},{item}"
            else:
                out.append(item)
    return out


def _parse_param(text: str):
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise UsageError(f"--param takes KEY=VALUE, got {text!r}")
    try:
        return key.strip(), ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return key.strip(), value.strip()


def builtin_dataset(task: str, seed: int = 0):
    """``(frame, target column, description)``: a data set that ships with scikit-learn.

    regression: diabetes with 10% of the targets shifted by 300 to 1000 either way (gross
    outliers, as in a scraped or mis-keyed column); binary: breast cancer; multiclass: wine.
    """
    from sklearn import datasets

    if task == "regression":
        frame = datasets.load_diabetes(as_frame=True).frame
        rng = np.random.default_rng(seed)
        corrupt = rng.random(len(frame)) < 0.1
        shift = rng.choice([-1.0, 1.0], len(frame)) * rng.uniform(300, 1000, len(frame))
        frame["target"] = np.where(corrupt, frame["target"] + shift, frame["target"])
        description = f"diabetes (scikit-learn) with {int(corrupt.sum())} targets shifted by 300 to 1000"
    elif task == "binary":
        frame = datasets.load_breast_cancer(as_frame=True).frame
        description = "breast cancer (scikit-learn)"
    else:
        frame = datasets.load_wine(as_frame=True).frame
        description = "wine (scikit-learn)"
    return frame, "target", description


def read_table(path: str):
    """A CSV (``.csv``, ``.tsv``, ``.txt``, compressed too) or Parquet (``.parquet``, ``.pq``) file as a DataFrame."""
    pd = _pandas()
    file = Path(path)
    if not file.exists():
        raise UsageError(f"no such file: {path}")
    if file.is_dir():
        raise UsageError(f"{path} is a directory, not a data file")
    suffixes = [s.lower() for s in file.suffixes]
    try:
        if ".parquet" in suffixes or ".pq" in suffixes:
            try:
                return pd.read_parquet(file)
            except ImportError as err:
                raise UsageError(f"reading Parquet needs pyarrow: {install_hint('cli', 'pyarrow')} ({err})") from None
        return pd.read_csv(file, sep="\t" if ".tsv" in suffixes else ",")
    except UsageError:
        raise
    except (ValueError, OSError, UnicodeDecodeError) as err:
        kind = "Parquet" if ".parquet" in suffixes or ".pq" in suffixes else "CSV"
        raise UsageError(f"cannot read {path} as {kind}: {_one_line(err)}") from None


def prepare_frame(frame, target: str, drop=()):
    """``(X, y, notes)``: features with text columns as pandas ``category`` (booleans as 0/1,
    dates as days since 1970), the target column, and what was done (rows dropped)."""
    pd = _pandas()
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if target not in columns:
        raise UsageError(f"unknown column {target!r}; the columns are {_names(columns)}")
    unknown = [c for c in drop if c not in columns]
    if unknown:
        raise UsageError(f"unknown column{'s' if len(unknown) > 1 else ''} to drop: {', '.join(unknown)}; "
                         f"the columns are {_names(columns)}")
    notes = []
    missing = frame[target].isna()
    if missing.all():
        raise UsageError(f"the target column {target!r} is empty")
    if missing.any():
        frame = frame.loc[~missing]
        notes.append(f"dropped {int(missing.sum())} rows without a target")
    X = frame.drop(columns=list(dict.fromkeys([target, *drop])))
    if X.shape[1] == 0:
        raise UsageError("no feature columns left besides the target")
    for name in X.columns:
        column = X[name]
        if pd.api.types.is_bool_dtype(column):
            X[name] = column.astype(np.int8)
        elif pd.api.types.is_datetime64_any_dtype(column):
            X[name] = (column - pd.Timestamp(0, tz=getattr(column.dtype, "tz", None))).dt.total_seconds() / 86400
        elif not pd.api.types.is_numeric_dtype(column):
            X[name] = column.astype("category")
    return X, frame[target], notes


def identifier_columns(frame) -> list[tuple[str, str]]:
    """Columns that look like row identifiers, with why: every value distinct, and integers in
    increasing or decreasing order (row numbers, a saved index) or text (names, keys). As
    features they let a model memorise rows, or leak the target where rows were sorted by it."""
    pd = _pandas()
    found = []
    if len(frame) < 3:
        return found
    for name in frame.columns:
        column = frame[name]
        if column.isna().any() or not column.is_unique:
            continue
        if pd.api.types.is_integer_dtype(column) and (column.is_monotonic_increasing or column.is_monotonic_decreasing):
            found.append((str(name), "unique integers in order"))
        elif pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            found.append((str(name), "a distinct text in every row"))
    return found


def _names(columns, limit=12):
    shown = ", ".join(columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def _pandas():
    try:
        import pandas
    except ImportError as err:
        raise UsageError(f"boostloss compare needs pandas: {install_hint('cli', 'pandas')} ({err})") from None
    return pandas


def run_compare(args) -> int:
    _pandas()  # the built-in data sets and every table are pandas frames: say so before anything else
    if args.plot:  # before the long part: a plot that cannot be written fails now
        _check_output(args.plot)
    if args.data is None:
        if args.drop:
            raise UsageError("--drop needs a data file")
        frame, default_target, source = builtin_dataset(args.task or "regression", args.seed)
        target = args.target or default_target
    else:
        frame, target, source = read_table(args.data), args.target, args.data
        if not target:
            columns = _names([str(c) for c in frame.columns])
            raise UsageError(f"--target COL is required with a data file; the columns are {columns}")
    X, y, notes = prepare_frame(frame, target, split_specs(args.drop))
    task = args.task or infer_task(y.to_numpy())
    if task == "regression" and not _pandas().api.types.is_numeric_dtype(y):
        raise UsageError(f"the target column {target!r} is not numeric; use --task binary or multiclass")
    params = dict(_parse_param(p) for p in args.param or [])
    identifiers = identifier_columns(frame[list(X.columns)])  # as read: before text became categories
    specs = split_specs(args.losses)
    scaled = [new for new in (with_target_scale(item, y.to_numpy()) for item in specs) if new not in specs] \
        if task == "regression" else []
    result = compare_losses(
        X, y.to_numpy(), specs or None, task=task, booster=args.booster, cv=args.cv,
        metrics=split_specs(args.metrics) or None, n_estimators=args.n_estimators,
        learning_rate=args.learning_rate, random_state=args.seed, n_jobs=args.n_jobs, params=params,
        progress=False if args.no_progress else None)
    for name, why in identifiers:  # after the run: a bad argument is still a one-line error
        print(f"boostloss: warning: column {name!r} looks like a row identifier ({why}) and is used as a feature; "
              f"--drop {name} to leave it out", file=sys.stderr)
    if args.json:
        print(json.dumps({"data": source, "rows": len(X), "features": X.shape[1],
                          "feature_names": [str(c) for c in X.columns],
                          "identifier_columns": [name for name, _ in identifiers], "task": task,
                          "booster": args.booster, "cv": args.cv, "best": result.best(),
                          "results": result.summary()}, indent=2))
    else:
        categorical = sum(getattr(d, "name", "") == "category" for d in X.dtypes)
        features = f"{X.shape[1]} features" + (f" ({categorical} categorical)" if categorical else "")
        print(f"{source}: {len(X)} rows, {features}; {task} on column {target!r}" + "".join(f"; {n}" for n in notes))
        print(f"features: {_names([str(c) for c in X.columns])}")
        print(f"{args.booster}, {args.n_estimators} rounds at learning rate {args.learning_rate:g}, "
              f"{result.n_splits}-fold cross-validation")
        if scaled:
            print(f"scale set from the target's robust scale {robust_scale(y.to_numpy()):.3g} (1.4826 MAD): "
                  f"{', '.join(scaled)}; give the parameter (e.g. huber:delta=1) to choose it")
        print()
        print_comparison(result)
    if args.plot:
        from .plotting import plot_comparison

        _save(plot_comparison(result), args.plot, quiet=args.json)
    return 0


def _plus_minus() -> str:
    try:
        "±".encode(getattr(sys.stdout, "encoding", None) or "utf-8")
        return "±"
    except (UnicodeEncodeError, LookupError):
        return "+-"


def print_comparison(result) -> None:
    """The comparison as a table: mean and spread of each metric, fit time, ``*`` on the best."""
    pm = _plus_minus()
    header = ["loss", *result.metrics, "fit time"]
    columns = {}
    for metric in result.metrics:
        means = [result.mean(loss, metric) for loss in result.losses]
        digits = _decimals(means)
        best = result.best(metric)
        cells = []
        for loss, mean in zip(result.losses, means, strict=True):
            if not np.isfinite(mean):  # a probability score of a loss without probabilities (hinge)
                cells.append("n/a  ")
                continue
            cells.append(f"{mean:.{digits}f} {pm} {result.std(loss, metric):.{digits}f}"
                         + (" *" if loss == best else "  "))
        columns[metric] = cells
    rows = [[loss, *(columns[m][i] for m in result.metrics), f"{np.mean(result.fit_times[loss]):.2f} s"]
            for i, loss in enumerate(result.losses)]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells))
    print()
    print(f"mean {pm} standard deviation over {result.n_splits} folds; * best; fit time per fold")
    if any(not np.isfinite(result.mean(loss, m)) for loss in result.losses for m in result.metrics):
        print("n/a: the loss predicts no such thing (probabilities, a distribution, or the interval's quantiles)")
    print(f"best by {result.metrics[0]} ({result.direction(result.metrics[0])} is better): {result.best()}")


def _decimals(values) -> int:
    """Decimals that show about four significant digits of the largest value (0 to 4)."""
    largest = max((abs(v) for v in values if np.isfinite(v)), default=1.0)
    if largest == 0:
        return 2
    return int(min(4, max(0, 3 - np.floor(np.log10(largest)))))


def _check_output(path):
    from .plotting import _pyplot

    _pyplot()  # ImportError naming the plot extra
    folder = Path(path).parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: no such directory {folder}")


def _save(fig, path, quiet=False):
    from .plotting import _pyplot

    try:
        _check_output(path)
        fig.savefig(path)
    finally:
        _pyplot().close(fig)
    if not quiet:
        width, height = (fig.get_size_inches() * fig.dpi).round().astype(int)
        print(f"wrote {path} ({width}x{height} pixels)")


# --------------------------------------------------------------------------- boostloss plot
def run_plot(args) -> int:
    from .plotting import expand_losses, plot_loss

    losses = expand_losses(*args.losses)
    output = args.output or f"{losses[0].name}.png"
    _check_output(output)
    _save(plot_loss(*losses, xlim=args.xlim), output)
    return 0


# --------------------------------------------------------------------------- compile
def compile_kernels(losses=None, boosters=None, log=print) -> int:
    """Compile into numba's cache every kernel a fit of ``losses`` (names; default all) on
    ``boosters`` (default: those installed) uses: tiny fits through each booster's train
    helper (with and without weights, with an evaluation set), its scikit-learn estimator and,
    for XGBoost and LightGBM, a hand-built objective, so that later processes (containers
    started from an image that ran it) load the compiled code instead of compiling. Returns the
    number of kernel signatures compiled."""
    from importlib.util import find_spec

    from . import catboost as bl_catboost
    from . import lightgbm as bl_lightgbm
    from . import xgboost as bl_xgboost
    from .losses import kernels
    from .registry import available_losses, get_loss
    from .sklearn import BoostClassifier, BoostRegressor

    boosters = [b for b in (boosters or BOOSTERS) if find_spec(b) is not None]
    before = sum(len(d.signatures) for d in kernels.dispatchers())
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    weights = rng.uniform(0.5, 2.0, 300)
    # the multi-output losses compute in NumPy or through their one-output parts' kernels
    for name in losses or [name for name in available_losses() if not get_loss(name).multi_output]:
        loss = get_loss(name)
        task = loss_task(loss)
        noisy = X[:, 0] + rng.normal(size=300)
        y = {"multiclass": rng.integers(0, 3, 300), "binary": rng.integers(0, 2, 300)}.get(task)
        y = (noisy if loss.domain is REAL else np.exp(noisy)) if y is None else y.astype(float)
        classes = {"num_class": 3} if task == "multiclass" else {}
        for booster in boosters:
            log(f"compiling {name} on {booster}")
            if booster == "xgboost":
                import xgboost as xgb

                for w in (None, weights):
                    data = xgb.DMatrix(X, y, weight=w)
                    bl_xgboost.train(loss, {"max_depth": 2, "nthread": 1}, data, 2, evals=[(data, "train")],
                                     verbose_eval=False)
                xgb.train({"max_depth": 2, "nthread": 1, **classes}, xgb.DMatrix(X, y), 2,
                          obj=bl_xgboost.objective(loss))
                inner = (xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier)(n_estimators=2, n_jobs=1)
            elif booster == "lightgbm":
                import lightgbm as lgb

                settings = {"verbose": -1, "num_threads": 1, "min_data_in_leaf": 5}
                for w in (None, weights):
                    data = lgb.Dataset(X, y, weight=w, free_raw_data=False)
                    bl_lightgbm.train(loss, settings, data, 2, valid_sets=[data])
                lgb.train({**settings, **classes, "objective": bl_lightgbm.objective(loss)}, lgb.Dataset(X, y), 2)
                inner = (lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier)(
                    n_estimators=2, verbose=-1, n_jobs=1)
            else:
                import catboost as cb

                settings = {"iterations": 2, "verbose": 0, "allow_writing_files": False, "thread_count": 1}
                for w in (None, weights):
                    bl_catboost.train(loss, settings, cb.Pool(X, y, weight=w), eval_set=cb.Pool(X, y, weight=w))
                inner = (cb.CatBoostRegressor if task == "regression" else cb.CatBoostClassifier)(**settings)
            wrapper = BoostRegressor if task == "regression" else BoostClassifier
            wrapper(inner, loss).fit(X, y, sample_weight=weights).predict(X)
    return sum(len(d.signatures) for d in kernels.dispatchers()) - before


def run_compile(args) -> int:
    from .losses import kernels

    losses = [name for item in args.losses or [] for name in item.split(",") if name]
    boosters = [name for item in args.boosters or [] for name in item.split(",") if name]
    unknown = set(boosters) - set(BOOSTERS)
    if unknown:
        raise UsageError(f"unknown booster(s) {', '.join(sorted(unknown))}; choose from {', '.join(BOOSTERS)}")
    count = compile_kernels(losses, boosters, log=(lambda message: None) if args.quiet else
                            (lambda message: print(message, file=sys.stderr)))
    where = kernels.cache_location() if kernels.CACHE else "memory only (no writable cache directory)"
    print(f"compiled {count} kernel signature(s) into {where}")
    return 0


# --------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="boostloss", description="Losses for XGBoost, LightGBM and CatBoost: list them, compare "
                     "them on your data, plot them.")
    parser.add_argument("--version", action="version", version=f"boostloss {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{list,compare,plot,compile}")

    listing = commands.add_parser("list", help="every loss and metric with its parameters, link, targets, formula",
                                  description="Every loss and metric with its parameters, link, targets and formula.")
    listing.add_argument("--json", action="store_true", help="print JSON for machines")
    listing.set_defaults(run=run_list)

    compare = commands.add_parser(
        "compare", help="cross-validate losses on a data set and compare them",
        description="Cross-validate each loss on the data with the same folds and booster settings, and print "
        "each loss's mean and standard deviation on each metric, its fit time, and the best. Without DATA it runs "
        "on a data set that ships with scikit-learn (regression: diabetes with 10% gross outliers; binary: breast "
        "cancer; multiclass: wine). Text columns become categorical features handled by the booster natively "
        "(LightGBM and XGBoost categorical splits, CatBoost cat_features).",
        epilog="example: boostloss compare train.csv --target price --losses huber:delta=2,log_cosh,"
        "quantile:alpha=0.5 --metrics mae,rmse --plot losses.png")
    compare.add_argument("data", nargs="?", metavar="DATA", help="a CSV or Parquet file (default: a built-in set)")
    compare.add_argument("--target", metavar="COL", help="the target column (required with DATA)")
    compare.add_argument("--task", choices=TASKS, help="default: binary for two-valued or text targets with two "
                         "classes, multiclass for more classes, else regression")
    compare.add_argument("--losses", action="append", metavar="LOSS,...",
                         help="losses, comma-separated or repeated, e.g. huber:delta=2,log_cosh (default: "
                         "regression: squared_error, huber and log_cosh with their scale from the target's MAD, "
                         "quantile:alpha=0.5; binary: logistic, focal; multiclass: softmax_cross_entropy, "
                         "multiclass_focal)")
    compare.add_argument("--booster", choices=BOOSTERS, default="lightgbm", help="default: %(default)s")
    compare.add_argument("--cv", type=int, default=5, metavar="K", help="number of folds (default: %(default)s)")
    compare.add_argument("--metrics", action="append", metavar="METRIC,...",
                         help="regression: mae, rmse, smape, mape, r2, pinball:alpha=A or any loss; "
                         "classification: log_loss, roc_auc, accuracy, balanced_accuracy, f1, brier, "
                         "average_precision or a classification loss (default: mae,rmse,smape / "
                         "log_loss,roc_auc,accuracy / log_loss,accuracy); the first picks the best")
    compare.add_argument("--plot", metavar="PNG", help="also save a plot of the comparison")
    compare.add_argument("--drop", action="append", metavar="COL,...", help="columns to ignore, e.g. ids")
    compare.add_argument("--n-estimators", type=int, default=200, metavar="N", help="rounds (default: %(default)s)")
    compare.add_argument("--learning-rate", type=float, default=0.05, metavar="ETA", help="default: %(default)s")
    compare.add_argument("--param", action="append", metavar="KEY=VALUE",
                         help="a parameter of the booster's scikit-learn estimator, e.g. max_depth=4 (repeatable)")
    compare.add_argument("--n-jobs", type=int, metavar="N", help="booster threads (default: 1 below 20000 rows, "
                         "else the booster's default)")
    compare.add_argument("--seed", type=int, default=0, help="seed of the folds and boosters (default: %(default)s)")
    compare.add_argument("--json", action="store_true", help="print the results as JSON")
    compare.add_argument("--no-progress", action="store_true", help="no progress bar")
    compare.set_defaults(run=run_compare)

    plot = commands.add_parser(
        "plot", help="plot a loss, its gradient and its Hessian",
        description="The loss, its gradient and its Hessian (dashed: the Hessian policy handed to boosters) "
        "against the residual or margin. A bare name sweeps its main parameter (huber: delta 0.5, 1, 2); a list "
        "sweeps given values (quote it: 'quantile:alpha=[0.1,0.5,0.9]'); several losses are overlaid.")
    plot.add_argument("losses", nargs="+", metavar="LOSS", help="e.g. huber, huber:delta=2, focal:gamma=[0,2,5]")
    plot.add_argument("-o", "--output", metavar="PNG", help="the image to write (default: NAME.png)")
    plot.add_argument("--xlim", nargs=2, type=float, metavar=("LOW", "HIGH"), help="range of the x axis")
    plot.set_defaults(run=run_plot)

    compiling = commands.add_parser(
        "compile", help="compile the kernels fits use into numba's cache (for images built once)",
        description="Compile every kernel that fits of the losses use on the installed boosters (train helpers, "
        "estimators, hand-built objectives; weighted and not) into numba's cache, so that later processes load "
        "them instead of compiling: run it where the image is built, after installing boostloss. A read-only "
        "install then starts from these (copied into the cache directory numba writes to).",
        epilog="example (a Dockerfile): RUN pip install '/src/boostloss[xgboost]' && boostloss compile")
    compiling.add_argument("--losses", action="append", metavar="LOSS,...", help="default: every loss")
    compiling.add_argument("--boosters", action="append", metavar="BOOSTER,...",
                           help="default: those installed of " + ", ".join(BOOSTERS))
    compiling.add_argument("--quiet", action="store_true", help="no progress lines")
    compiling.set_defaults(run=run_compile)
    return parser


def _one_line(err) -> str:
    return " ".join(str(err).split()) or type(err).__name__


_USER_ERRORS = (UsageError, ValueError, OSError, ImportError, TypeError, KeyError)
_BOOSTER_ERRORS = ("LightGBMError", "XGBoostError", "CatBoostError")


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0, or 2 for an error)."""
    parser = build_parser()
    raw = sys.argv[1:] if argv is None else list(argv)
    traceback = "--traceback" in raw
    try:
        args = parser.parse_args(raw)
        with warnings.catch_warnings():
            if not traceback:
                warnings.simplefilter("ignore")
            return args.run(args)
    except SystemExit as exit:  # --help and --version
        return exit.code if isinstance(exit.code, int) else 0
    except KeyboardInterrupt:
        print("boostloss: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if traceback or not (isinstance(err, _USER_ERRORS) or type(err).__name__ in _BOOSTER_ERRORS):
            raise
        print(f"boostloss: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
