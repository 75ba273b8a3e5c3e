"""boostloss: exact, numerically stable losses for XGBoost, LightGBM and CatBoost.

The math lives in ``boostloss.losses``; ``boostloss.xgboost``, ``boostloss.lightgbm`` and
``boostloss.catboost`` adapt it to each booster (each imported on first use, so
``import boostloss`` works with any subset of boosters installed).
"""

from importlib import import_module

from .checks import DerivativeReport, check_derivatives
from .custom import CustomBinaryLoss, CustomLoss
from .losses import *  # noqa: F403
from .losses import __all__ as _loss_names
from .metrics import LossMetric, Metric
from .registry import available_losses, available_metrics, get_loss, get_metric, spec

__version__ = "0.1.0"
__all__ = [*_loss_names, "Metric", "LossMetric", "available_losses", "available_metrics",
           "get_loss", "get_metric", "spec", "CustomLoss", "CustomBinaryLoss", "check_derivatives",
           "DerivativeReport"]

_ADAPTERS = ("xgboost", "lightgbm", "catboost", "dask", "sklearn", "plotting", "compare")  # imported on first use


def __getattr__(name):
    if name in _ADAPTERS:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'boostloss' has no attribute {name!r}")
