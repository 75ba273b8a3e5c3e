"""Weighted sums of losses: ``0.7 * Huber(1) + 0.3 * Quantile(0.9)`` is a loss."""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np
from scipy import optimize

from .base import Loss, bracketed_root, check_sample_weight, weighted_mean
from .binary import BinaryLoss


class WeightedSum(Loss):
    """``L = sum_i w_i L_i`` with weights ``w_i > 0``: ``g = sum_i w_i g_i``, exact
    ``h = sum_i w_i h_i``; ``grad_hess`` adds up each part's own policy Hessian.

    The parts must share a link and a target domain (each part's own target checks apply
    too). Optimal constant: the common optimum when every part has the same one, else the root
    of the mean gradient between the parts' optima (where it lies for convex parts); for
    multiclass parts, L-BFGS from their weighted mean. A sum of binary losses is a binary loss
    (``BoostClassifier`` takes it). Parameters ``losses`` and ``weights``, and the parts'
    parameters as ``"<i>__<name>"`` (``set_params(**{"0__delta": 2})``).
    """

    def __new__(cls, losses=(), weights=()):
        if cls is WeightedSum and losses and all(isinstance(part, BinaryLoss) for part in losses):
            cls = BinaryWeightedSum
        return super().__new__(cls)

    def __init__(self, losses, weights):
        self.losses = losses
        self.weights = weights
        self._check_params()

    @classmethod
    def of(cls, *losses, factor=1.0):
        """The flattened sum of ``losses`` (sums are expanded into their parts), times ``factor``."""
        if not (isinstance(factor, numbers.Real) and math.isfinite(factor) and factor > 0):
            raise ValueError(f"cannot scale {' + '.join(map(repr, losses))} by {factor!r}: "
                             "a weight must be finite and > 0")
        terms = [term for loss in losses for term in
                 (zip(loss.weights, loss.losses, strict=True) if isinstance(loss, WeightedSum) else [(1.0, loss)])]
        return cls(tuple(part for _, part in terms), tuple(float(factor) * float(w) for w, _ in terms))

    # ---- parameters ---------------------------------------------------------------
    def _check_params(self):
        losses, weights = tuple(self.losses), tuple(self.weights)
        if not losses or len(losses) != len(weights):
            raise ValueError(f"WeightedSum: needs as many weights as losses (at least one), got {len(losses)} "
                             f"losses and {len(weights)} weights")
        for part, weight in zip(losses, weights, strict=True):
            if not isinstance(part, Loss):
                raise ValueError(f"WeightedSum: {part!r} is not a Loss")
            if not (isinstance(weight, numbers.Real) and math.isfinite(weight) and weight > 0):
                raise ValueError(f"WeightedSum: the weight of {part!r} must be finite and > 0, got {weight!r}")
            if part.round_statistic:
                raise ValueError(f"WeightedSum: {part!r} weighs its rows by a statistic of each whole training "
                                 "round, which a sum of losses does not keep; it cannot be a part of one")
        first = losses[0]
        for part in losses[1:]:
            if part.link != first.link or part.is_multiclass != first.is_multiclass:
                raise ValueError(f"WeightedSum: {first!r} has the {first.link!r} but {part!r} has the {part.link!r}; "
                                 "the parts of a sum must share their link")
            if part.domain != first.domain:
                raise ValueError(f"WeightedSum: {first!r} takes targets in {first.domain.describe()} but {part!r} "
                                 f"in {part.domain.describe()}; the parts of a sum must share their domain")

    def get_params(self, deep=True):
        params = {"losses": self.losses, "weights": self.weights}
        if deep:
            for i, part in enumerate(self.losses):
                params.update({f"{i}__{key}": value for key, value in part.get_params(deep=True).items()})
        return params

    def set_params(self, **params):
        previous = (self.losses, self.weights)
        losses = list(self.losses)
        for key, value in params.items():
            head, nested, rest = key.partition("__")
            if key in ("losses", "weights"):
                setattr(self, key, value)
            elif nested and head.isdigit() and int(head) < len(losses):
                losses[int(head)] = copy.deepcopy(losses[int(head)]).set_params(**{rest: value})
            else:
                raise ValueError(f"WeightedSum has no parameter {key!r}; it has 'losses', 'weights' and "
                                 f"'<i>__<name>' for the parameters of part i < {len(losses)}")
        if "losses" not in params:
            self.losses = tuple(losses)
        try:
            self._check_params()
        except Exception:
            self.losses, self.weights = previous
            raise
        return self

    def __repr__(self):
        return " + ".join(f"{float(w)!r} * {part!r}" for w, part in zip(self.weights, self.losses, strict=True))

    # ---- what the parts share -------------------------------------------------------
    @property
    def name(self):
        """``"0.7*huber+0.3*quantile"``: no spaces, which boosters' evaluation logs split on."""
        return "+".join(f"{float(w):g}*{part.name}" for w, part in zip(self.weights, self.losses, strict=True))

    @property
    def link(self):
        return self.losses[0].link

    @property
    def domain(self):
        return self.losses[0].domain

    @property
    def is_multiclass(self):
        return self.losses[0].is_multiclass

    def _check_domain(self, y):
        for part in self.losses:
            part._check_domain(y)

    def _check_shapes(self, y, raw):
        return self.losses[0]._check_shapes(y, raw)

    def _rescales_hessian(self) -> bool:
        return any(getattr(part, "_rescales_hessian", lambda: False)() for part in self.losses)

    @property
    def uses_secant_floor(self) -> bool:
        return any(part.uses_secant_floor for part in self.losses)

    # ---- the math ---------------------------------------------------------------------
    def _sum(self, values):
        return sum(float(w) * v for w, v in zip(self.weights, values, strict=True))

    def _sum_pairs(self, pairs):
        grads, hessians = zip(*pairs, strict=True)
        return self._sum(grads), self._sum(hessians)

    def _loss(self, y, raw):
        return self._sum(part._loss(y, raw) for part in self.losses)

    def _derivatives(self, y, raw):
        return self._sum_pairs([part._derivatives(y, raw) for part in self.losses])

    def _grad_policy_hessian(self, y, raw, residual_scale=None):
        return self._sum_pairs([part._grad_policy_hessian(y, raw, residual_scale) for part in self.losses])

    def init_score(self, y, sample_weight=None, **kwargs):
        """The constant raw score minimising the weighted mean loss (``n_classes=`` for multiclass sums)."""
        starts = [np.asarray(part.init_score(y, sample_weight, **kwargs), dtype=np.float64) for part in self.losses]
        y = self.validate(y, sample_weight)
        w = check_sample_weight(sample_weight, y.size, self)
        if all(np.array_equal(s, starts[0]) for s in starts):
            return starts[0] if self.is_multiclass else float(starts[0])
        guess = np.average(starts, axis=0, weights=self.weights)
        if self.is_multiclass:
            return self._multiclass_init(y, w, guess)

        def mean_grad(c):
            return weighted_mean(self._derivatives(y, np.full_like(y, c))[0], w)

        low, high = float(min(starts)), float(max(starts))
        f_low, f_high = mean_grad(low), mean_grad(high)
        if f_low <= 0 <= f_high:
            if f_low == 0 or f_high == 0:
                return low if f_low == 0 else high
            return float(optimize.brentq(mean_grad, low, high, xtol=1e-14, rtol=4 * np.finfo(float).eps))
        return bracketed_root(mean_grad, float(guess), high - low)

    def _multiclass_init(self, y, w, guess):
        y = y.astype(np.intp)
        k = guess.size

        def objective(free):
            raw = np.broadcast_to(np.append(free, 0.0), (y.size, k))
            grad = np.average(self._derivatives(y, raw)[0], axis=0, weights=w)
            return float(np.average(self._loss(y, raw), weights=w)), grad[:-1]  # raw[k-1] is pinned at 0

        result = optimize.minimize(objective, guess[:-1] - guess[-1], jac=True, method="L-BFGS-B",
                                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 1000})
        raw = np.append(result.x, 0.0)
        return raw - raw.mean()


class BinaryWeightedSum(WeightedSum, BinaryLoss):
    """A weighted sum of binary losses: itself a binary loss (0/1 labels, logit link)."""
