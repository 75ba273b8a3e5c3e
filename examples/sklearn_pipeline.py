"""The scikit-learn estimators in a pipeline, tuned by grid search: the loss's parameters and the
booster's side by side (``model__loss__delta``, ``model__estimator__max_depth``).

``BoostRegressor`` and ``BoostClassifier`` wrap an unfitted XGBoost, LightGBM or CatBoost
estimator; they clone, pickle and pass scikit-learn's estimator checks, so they work in
``Pipeline``, ``GridSearchCV`` and ``cross_val_score`` like any regressor or classifier.
Run: ``python examples/sklearn_pipeline.py``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from xgboost import XGBRegressor

import boostloss as bl
from boostloss.sklearn import BoostClassifier, BoostRegressor

data = load_diabetes(as_frame=True)
rng = np.random.default_rng(0)
frame = data.data.assign(clinic=rng.choice(["A", "B", "C"], len(data.target)))  # a text column
y = data.target.to_numpy().copy()
corrupt = rng.random(y.size) < 0.1
y[corrupt] += rng.choice([-1, 1], corrupt.sum()) * rng.uniform(300, 1000, corrupt.sum())
X_train, X_test, y_train, y_test, _, clean_test = train_test_split(frame, y, data.target.to_numpy(), random_state=0)

numeric = [c for c in frame.columns if c != "clinic"]
pipe = Pipeline([
    ("prep", ColumnTransformer([("num", StandardScaler(), numeric), ("cat", OneHotEncoder(), ["clinic"])])),
    ("model", BoostRegressor(XGBRegressor(n_estimators=150, learning_rate=0.05, n_jobs=1), loss=bl.Huber())),
])
grid = {"model__loss__delta": [10, 30, 100], "model__estimator__max_depth": [2, 4]}
# score by MAE: with outliers in the validation folds, R^2 would reward chasing them
search = GridSearchCV(pipe, grid, cv=KFold(3, shuffle=True, random_state=0), scoring="neg_mean_absolute_error",
                      n_jobs=1)
search.fit(X_train, y_train)
best = search.best_params_
print(f"grid search: best delta {best['model__loss__delta']}, max_depth {best['model__estimator__max_depth']}, "
      f"cross-validated MAE {-search.best_score_:.1f}")
print(f"test MAE against the clean targets: {np.mean(np.abs(search.predict(X_test) - clean_test)):.1f}")

restored = pickle.loads(pickle.dumps(search.best_estimator_))  # fitted pipelines pickle
assert np.allclose(restored.predict(X_test), search.predict(X_test))

# A classifier in a pipeline: string labels, focal loss, balanced class weights.
labels = pd.Series(np.where(data.target > 200, "high", "low"))  # about a quarter "high"
clf = Pipeline([
    ("prep", ColumnTransformer([("num", StandardScaler(), numeric), ("cat", OneHotEncoder(), ["clinic"])])),
    ("model", BoostClassifier(LGBMClassifier(n_estimators=100, learning_rate=0.05, verbose=-1, n_jobs=1),
                              loss="focal:gamma=2", class_weight="balanced")),
])
scores = cross_val_score(clf, frame, labels, cv=3, scoring="roc_auc")
print(f"focal-loss classifier in a pipeline: ROC AUC {scores.mean():.3f} +- {scores.std():.3f} over 3 folds")
