"""Robust regression on scikit-learn's diabetes data with 10% of the training targets corrupted.

Trains squared error, Huber and log-cosh with each installed booster through boostloss, and
prints the test MAE against the clean targets. Run: ``python examples/quickstart.py``.
"""

from __future__ import annotations

import importlib.util

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

import boostloss as bl

LOSSES = ["squared_error", "huber:delta=30", "log_cosh"]
ROUNDS = 200


def data(seed=0):
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=seed)
    rng = np.random.default_rng(seed)
    corrupt = rng.random(y_train.size) < 0.1
    y_train = np.where(corrupt, y_train + rng.choice([-1, 1], y_train.size) * rng.uniform(300, 1000, y_train.size),
                       y_train)
    return X_train, X_test, y_train, y_test


def fit_predict(booster, loss, X_train, y_train, X_test):
    if booster == "xgboost":
        import xgboost as xgb

        model = bl.xgboost.train(loss, {"max_depth": 3, "eta": 0.05, "nthread": 1}, xgb.DMatrix(X_train, y_train),
                                 ROUNDS)
        return bl.xgboost.predict(model, X_test, loss)
    if booster == "lightgbm":
        import lightgbm as lgb

        params = {"num_leaves": 8, "learning_rate": 0.05, "verbose": -1, "num_threads": 1}
        model = bl.lightgbm.train(loss, params, lgb.Dataset(X_train, y_train), ROUNDS)
        return bl.lightgbm.predict(model, X_test, loss)
    import catboost as cb

    params = {"iterations": ROUNDS, "depth": 3, "learning_rate": 0.05, "verbose": 0, "thread_count": 1}
    model = bl.catboost.train(loss, params, cb.Pool(X_train, y_train))
    return bl.catboost.predict(model, X_test, loss)


def main():
    X_train, X_test, y_train, y_test = data()
    boosters = [b for b in ("xgboost", "lightgbm", "catboost") if importlib.util.find_spec(b)]
    print(f"diabetes, {y_train.size} training rows (10% corrupted), {y_test.size} clean test rows")
    print("| loss | " + " | ".join(f"{b} MAE" for b in boosters) + " |")
    print("|---|" + "---|" * len(boosters))
    for spec in LOSSES:
        loss = bl.get_loss(spec)
        maes = [np.mean(np.abs(fit_predict(b, loss, X_train, y_train, X_test) - y_test)) for b in boosters]
        print(f"| {spec} | " + " | ".join(f"{m:.1f}" for m in maes) + " |")


if __name__ == "__main__":
    main()
