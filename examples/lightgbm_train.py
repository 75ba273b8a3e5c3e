"""LightGBM's train API with a boostloss objective: Huber, log-cosh and Fair against squared
error on heavy-tailed synthetic data (Student-t noise with 1.5 degrees of freedom).

``bl.lightgbm.train`` installs the objective and the loss as metric (LightGBM's built-in
metrics misread raw scores under a custom objective), sets every dataset's ``init_score`` to
the loss's optimal constant and adds it into the first trees, so the saved model predicts
from it by itself. ``lgb.record_evaluation`` keeps the learning curve.
Run: ``python examples/lightgbm_train.py``.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
from sklearn.model_selection import train_test_split

import boostloss as bl

rng = np.random.default_rng(0)
n = 3000
X = rng.uniform(-2, 2, size=(n, 5))
signal = 10 * np.sin(X[:, 0]) + 5 * X[:, 1] ** 2 + 3 * X[:, 2]
y = signal + 2 * rng.standard_t(1.5, n)  # heavy tails: a few residuals in the hundreds
X_train, X_test, y_train, y_test, _, signal_test = train_test_split(X, y, signal, test_size=0.3, random_state=0)
X_train, X_valid, y_train, y_valid = train_test_split(X_train, y_train, test_size=0.25, random_state=0)

params = {"num_leaves": 15, "learning_rate": 0.05, "verbose": -1, "num_threads": 1}
print(f"synthetic, {y_train.size} training rows with Student-t(1.5) noise; error against the noiseless signal")
print("| loss | trees | test MAE vs signal |")
print("|---|---|---|")
for spec in ["squared_error", "huber:delta=4", "log_cosh", "fair:c=2"]:
    loss = bl.get_loss(spec)
    history = {}
    model = bl.lightgbm.train(loss, params, lgb.Dataset(X_train, y_train), 1000,
                              valid_sets=[lgb.Dataset(X_valid, y_valid)],
                              callbacks=[lgb.early_stopping(50, verbose=False), lgb.record_evaluation(history)])
    pred = bl.lightgbm.predict(model, X_test, loss)
    curve = history["valid_0"][loss.name]  # the validation loss after each round
    assert int(np.argmin(curve)) + 1 == model.best_iteration
    print(f"| {spec} | {model.best_iteration} | {np.mean(np.abs(pred - signal_test)):.2f} |")

# Directly with lgb.train: the objective goes in params; a Dataset init_score is the start,
# and LightGBM does not add it back at predict time, so add it yourself.
loss = bl.Huber(delta=4)
start = loss.init_score(y_train)
model = lgb.train({**params, "objective": bl.lightgbm.objective(loss), "metric": "None"},
                  lgb.Dataset(X_train, y_train, init_score=np.full(y_train.size, start)), 300)
pred = model.predict(X_test) + start
print(f"lgb.train with objective=bl.lightgbm.objective({loss!r}): test MAE vs signal "
      f"{np.mean(np.abs(pred - signal_test)):.2f}")
