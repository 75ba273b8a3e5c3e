"""CatBoost with a boostloss objective and a categorical feature: log-cosh and Huber against
CatBoost's own RMSE on data where one region's targets carry gross errors.

``bl.catboost.train`` gives CatBoost the objective (its fast ``(n, 2)`` derivative path) and the
loss as ``eval_metric``, starts every pool from the loss's optimal constant and stores that
start as the model's bias, so ``bl.catboost.predict`` (or the model itself) predicts from it.
Run: ``python examples/catboost_train.py``.
"""

from __future__ import annotations

import catboost as cb
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

import boostloss as bl

rng = np.random.default_rng(0)
n = 2000
frame = pd.DataFrame({
    "size": rng.uniform(20, 200, n),
    "rooms": rng.integers(1, 6, n),
    "region": rng.choice(["north", "south", "east", "west"], n),
})
price = 2.0 * frame["size"] + 15 * frame["rooms"] + frame["region"].map({"north": 80, "south": 20, "east": 50,
                                                                          "west": 0})
noise = rng.normal(0, 15, n)
typo = rng.random(n) < 0.08  # a slipped decimal point: the price recorded ten times too high
y = np.where(typo, 10 * (price + noise), price + noise)
X_train, X_test, y_train, y_test, _, clean_test = train_test_split(frame, y, price, test_size=0.3, random_state=0)
X_train, X_valid, y_train, y_valid = train_test_split(X_train, y_train, test_size=0.2, random_state=0)

train = cb.Pool(X_train, y_train, cat_features=["region"])
valid = cb.Pool(X_valid, y_valid, cat_features=["region"])
params = {"iterations": 300, "depth": 4, "learning_rate": 0.1, "verbose": 0, "thread_count": 1,
          "allow_writing_files": False}

print(f"{y_train.size} training rows, {typo.mean():.0%} of prices recorded ten times too high")
print("| model | best iteration | test MAE vs clean price |")
print("|---|---|---|")
builtin = cb.CatBoostRegressor(loss_function="RMSE", **params).fit(train, eval_set=valid, early_stopping_rounds=50)
print(f"| CatBoost RMSE | {builtin.get_best_iteration()} | "
      f"{np.mean(np.abs(builtin.predict(X_test) - clean_test)):.1f} |")
for spec in ["log_cosh", "huber:delta=50"]:
    loss = bl.get_loss(spec)
    model = bl.catboost.train(loss, params, train, eval_set=valid, early_stopping_rounds=50)
    pred = bl.catboost.predict(model, X_test, loss)
    print(f"| boostloss {spec} | {model.get_best_iteration()} | {np.mean(np.abs(pred - clean_test)):.1f} |")
