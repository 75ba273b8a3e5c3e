"""Distributed training on a Dask cluster: Huber and a 0.9-quantile on two workers with
``xgboost.dask`` and ``lightgbm.dask``, against the same models trained on one machine.

``bl.dask.BoostRegressor`` checks targets and weights and computes the optimal start by
reductions over the partitions (nothing is collected on the client), then trains the booster's
Dask estimator with the loss as objective from that start; predictions come back as a Dask
array in the target's units. The last part uses the train API, ``xgboost.dask.train``, with
the start from ``bl.dask.init_score`` and an evaluation metric that is exact across workers.
Run: ``python examples/dask_train.py`` (needs the dask extra: ``pip install ".[dask]"`` in a checkout).
"""

from __future__ import annotations

import sys
import time

import numpy as np

import boostloss as bl
from boostloss.sklearn import BoostRegressor

try:
    import dask.array as da
    import lightgbm as lgb
    import xgboost as xgb
    from distributed import Client, LocalCluster
    from lightgbm.dask import DaskLGBMRegressor
    from xgboost import dask as dxgb
except ImportError as err:  # the test suite skips the example
    print(f"needs the dask extra and both boosters: {err}")
    sys.exit(77)


def main():
    rng = np.random.default_rng(0)
    n = 20_000
    X = (rng.integers(-32, 32, size=(n, 6)) + 0.5) / 8  # 64 levels: the same bins on one and on two machines
    y = 1e3 + 50 * X[:, 0] + 20 * np.sin(X[:, 1]) + 10 * rng.standard_t(2, size=n)  # heavy-tailed noise
    w = rng.uniform(0.5, 2.0, size=n)
    xgb_params = {"n_estimators": 50, "max_depth": 4, "learning_rate": 0.2}
    lgb_params = {"n_estimators": 50, "num_leaves": 15, "learning_rate": 0.2, "min_child_samples": 1, "verbose": -1}
    boosters = {
        "xgboost": (lambda: dxgb.DaskXGBRegressor(**xgb_params), lambda: xgb.XGBRegressor(**xgb_params)),
        "lightgbm": (lambda: DaskLGBMRegressor(**lgb_params), lambda: lgb.LGBMRegressor(**lgb_params)),
    }

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as client:
        dX, dy, dw = da.from_array(X, chunks=(2500, 6)), da.from_array(y, chunks=2500), da.from_array(w, chunks=2500)
        dX, dy, dw = client.persist([dX, dy, dw])  # 8 partitions on 2 workers
        print(f"{n} rows in {dy.npartitions} partitions on {len(client.scheduler_info()['workers'])} workers")
        print("| booster | loss | start (dask) | start (one machine) | mean gap / spread | max gap / spread "
              "| seconds (dask) |")
        print("|---|---|---|---|---|---|---|")
        for booster, (distributed, local) in boosters.items():
            for loss in (bl.Huber(delta=10.0), bl.Quantile(alpha=0.9)):
                start = time.perf_counter()
                model = bl.dask.BoostRegressor(distributed(), loss).fit(dX, dy, sample_weight=dw)
                pred = model.predict(dX).compute()
                seconds = time.perf_counter() - start
                one = BoostRegressor(local(), loss).fit(X, y, sample_weight=w)
                # sums over workers round differently, so a near-tie split may go the other way
                gap = np.abs(pred - one.predict(X)) / np.std(one.predict(X))
                print(f"| {booster} | {loss.name} | {model.init_score_[0]:.6f} | {one.init_score_[0]:.6f} "
                      f"| {gap.mean():.2g} | {gap.max():.2g} | {seconds:.1f} |")

        # the train API: the start as base_score, the objective and an exact metric on every worker
        loss = bl.Quantile(alpha=0.9)
        dtrain = dxgb.DaskDMatrix(client, dX, dy, weight=dw)
        params = {"max_depth": 4, "eta": 0.2, "base_score": bl.dask.init_score(loss, dy, dw),
                  "disable_default_eval_metric": True}
        out = dxgb.train(client, params, dtrain, 50, obj=bl.xgboost.objective(loss), evals=[(dtrain, "train")],
                         custom_metric=bl.dask.xgboost_metric("pinball:alpha=0.9", loss), verbose_eval=False)
        upper = bl.dask.predict(out, dX, loss).compute()  # a Dask array in the target's units
        pinball = bl.get_metric("pinball:alpha=0.9").score(y, upper, sample_weight=w)
        print(f"xgboost.dask.train, 0.9-quantile: training pinball {out['history']['train']['pinball'][-1]:.4f} "
              f"as reported on the workers, {pinball:.4f} recomputed from the predictions")


if __name__ == "__main__":  # the workers are separate processes: guard the entry point
    main()
