"""The math: one small class per loss, grouped by family. Knows nothing of the boosters."""

from .arithmetic import WeightedSum
from .base import Interval, Link, Loss, weighted_quantile
from .binary import (
    GHM,
    Dice,
    Exponential,
    Focal,
    Hinge,
    Logistic,
    ModifiedHuber,
    Perceptron,
    SquaredHinge,
    SymmetricCrossEntropy,
)
from .multiclass import (
    MulticlassFocal,
    MulticlassHinge,
    MulticlassSquaredHinge,
    MulticlassSymmetricCrossEntropy,
    SoftmaxCrossEntropy,
    class_balanced_weights,
)
from .multioutput import (
    GammaNLL,
    GaussianNLL,
    LogNormalNLL,
    MultilabelFocal,
    MultilabelLogistic,
    MultiQuantile,
    NegativeBinomialNLL,
    Predictive,
    SoftCrossEntropy,
    StudentTNLL,
)
from .regression import (
    MAPE,
    AbsoluteError,
    Expectile,
    Fair,
    Gamma,
    Huber,
    LogCosh,
    Poisson,
    PseudoHuber,
    Quantile,
    SquaredError,
    SquaredLogError,
    Tweedie,
)

__all__ = [
    "Interval", "Link", "Loss", "WeightedSum", "weighted_quantile",
    "SquaredError", "AbsoluteError", "Huber", "PseudoHuber", "LogCosh", "Quantile", "Expectile",
    "Fair", "MAPE", "SquaredLogError", "Poisson", "Gamma", "Tweedie",
    "Logistic", "Focal", "Exponential", "SymmetricCrossEntropy", "Dice", "GHM", "Hinge", "SquaredHinge",
    "ModifiedHuber", "Perceptron",
    "SoftmaxCrossEntropy", "MulticlassFocal", "MulticlassSymmetricCrossEntropy", "MulticlassHinge",
    "MulticlassSquaredHinge", "class_balanced_weights",
    "GaussianNLL", "LogNormalNLL", "GammaNLL", "NegativeBinomialNLL", "StudentTNLL",
    "MultiQuantile", "MultilabelLogistic", "MultilabelFocal",
    "SoftCrossEntropy", "Predictive",
]
