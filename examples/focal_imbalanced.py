"""Imbalanced binary classification (3% positives): logistic loss against focal loss, and both
with class weights ("balanced", or by the effective number of samples).

Ranking metrics (average precision, ROC AUC) show how well each model finds the rare class;
the log loss shows calibration, which focal loss and class weights trade away on purpose.
Run: ``python examples/focal_imbalanced.py``.
"""

from __future__ import annotations

from lightgbm import LGBMClassifier
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score, log_loss, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split

import boostloss as bl
from boostloss.sklearn import BoostClassifier

X, y = make_classification(n_samples=6000, n_features=20, n_informative=6, weights=[0.97], flip_y=0.01,
                           class_sep=0.8, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, stratify=y, random_state=0)
print(f"{y_train.size} training rows, {y_train.mean():.1%} positive; class-balanced weights (beta=0.999): "
      + ", ".join(f"{k}: {v:.2f}" for k, v in bl.class_balanced_weights(y_train, 0.999).items()))

candidates = {
    "logistic": BoostClassifier(loss="logistic"),
    "logistic, balanced": BoostClassifier(loss="logistic", class_weight="balanced"),
    "focal gamma=2 alpha=0.25": BoostClassifier(loss="focal:gamma=2,alpha=0.25"),
    "focal gamma=2 alpha=0.5": BoostClassifier(loss="focal:gamma=2,alpha=0.5"),
    "focal gamma=2, effective number": BoostClassifier(loss="focal:gamma=2,alpha=0.5",
                                                       class_weight="effective_number", beta=0.999),
}
print("| loss | average precision | ROC AUC | recall at p > 0.5 | log loss |")
print("|---|---|---|---|---|")
for name, clf in candidates.items():
    clf.set_params(estimator=LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=15, verbose=-1,
                                            n_jobs=1))
    proba = clf.fit(X_train, y_train).predict_proba(X_test)[:, 1]
    print(f"| {name} | {average_precision_score(y_test, proba):.3f} | {roc_auc_score(y_test, proba):.3f} | "
          f"{recall_score(y_test, proba > 0.5):.2f} | {log_loss(y_test, proba):.3f} |")
