"""XGBoost's train API with a boostloss objective: pseudo-Huber against squared error on
scikit-learn's diabetes data with 10% of the training targets corrupted.

``bl.xgboost.train`` installs the objective and the loss as evaluation metric, starts from the
loss's optimal constant (stored in the model as ``base_score``) and validates the targets;
``bl.xgboost.predict`` returns predictions in the target's units from the best iteration.
The second half does the same by hand with ``xgb.train(..., obj=...)``.
Run: ``python examples/xgboost_train.py``.
"""

from __future__ import annotations

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

import boostloss as bl

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
X_train, X_valid, y_train, y_valid = train_test_split(X_train, y_train, test_size=0.25, random_state=0)
rng = np.random.default_rng(0)
corrupt = rng.random(y_train.size) < 0.1  # gross errors in the training targets only
y_train = np.where(corrupt, y_train + rng.choice([-1, 1], y_train.size) * rng.uniform(300, 1000, y_train.size),
                   y_train)

dtrain, dvalid = xgb.DMatrix(X_train, y_train), xgb.DMatrix(X_valid, y_valid)
params = {"max_depth": 3, "eta": 0.05, "nthread": 1}

print(f"diabetes: {y_train.size} training rows ({corrupt.sum()} corrupted), {y_test.size} clean test rows")
print("| loss | trees | test MAE |")
print("|---|---|---|")
for spec in ["squared_error", "pseudo_huber:delta=30"]:
    loss = bl.get_loss(spec)
    history = {}
    booster = bl.xgboost.train(loss, params, dtrain, 1000, evals=[(dtrain, "train"), (dvalid, "valid")],
                               early_stopping_rounds=50, evals_result=history, verbose_eval=False)
    pred = bl.xgboost.predict(booster, X_test, loss)  # best iteration, target units
    assert len(history["valid"][loss.name]) > booster.best_iteration
    print(f"| {spec} | {booster.best_iteration + 1} | {np.mean(np.abs(pred - y_test)):.1f} |")

# The same objective handed to xgb.train directly: pass the start (base_score) yourself, and
# watch a plain metric (MAE, computed on the loss's predictions) instead of the loss.
loss = bl.PseudoHuber(delta=30)
booster = xgb.train({**params, "base_score": loss.init_score(y_train), "disable_default_eval_metric": 1}, dtrain,
                    300, obj=bl.xgboost.objective(loss), custom_metric=bl.xgboost.metric("mae", loss),
                    evals=[(dvalid, "valid")], verbose_eval=False)
pred = bl.xgboost.predict(booster, X_test, loss)
print(f"xgb.train with obj=bl.xgboost.objective({loss!r}): test MAE {np.mean(np.abs(pred - y_test)):.1f}")
