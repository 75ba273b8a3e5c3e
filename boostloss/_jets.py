"""Exact first and second derivatives of vectorised NumPy code: second-order forward-mode
automatic differentiation.

A ``Jet`` carries per row a value ``v`` and its first and second derivatives ``d1``, ``d2``
with respect to one input (the raw score). NumPy's ufuncs (and SciPy's, such as
``scipy.special.expit``) apply the chain rule: for ``f(u)``,
``(f, f' u1, f'' u1^2 + f' u2)``; for ``f(u, v)``,
``d1 = f_u u1 + f_v v1`` and ``d2 = f_uu u1^2 + 2 f_uv u1 v1 + f_vv v1^2 + f_u u2 + f_v v2``.
Comparisons return plain boolean arrays of the values, and ``np.where``, ``np.select``,
``np.maximum``, ``np.abs`` and ``np.clip`` pick the branch each row is on, so piecewise code
is differentiated piece by piece (at a kink, the piece its comparison selects). Exact up to
rounding: no step sizes. Anything else (``np.asarray``, reductions, in-place updates) raises
a TypeError that says so.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin
from scipy import special


class Jet(NDArrayOperatorsMixin):
    """Value, first and second derivative of an array, elementwise."""

    __slots__ = ("v", "d1", "d2")

    def __init__(self, v, d1, d2):
        self.v, self.d1, self.d2 = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (v, d1, d2)))

    @classmethod
    def variable(cls, x):
        """The jet of the input itself: derivative 1, second derivative 0."""
        x = np.asarray(x, dtype=np.float64)
        return cls(x, np.ones_like(x), np.zeros_like(x))

    shape = property(lambda self: self.v.shape)
    ndim = property(lambda self: self.v.ndim)
    size = property(lambda self: self.v.size)
    dtype = property(lambda self: self.v.dtype)

    def __len__(self):
        return len(self.v)

    def __getitem__(self, index):
        return Jet(self.v[index], self.d1[index], self.d2[index])

    def __array__(self, dtype=None, copy=None):
        raise TypeError(_unsupported("converting the raw score to a plain array"))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = getattr(ufunc, "__name__", str(ufunc))
        if method != "__call__" or kwargs:
            raise TypeError(_unsupported(f"{name}.{method} or its keyword arguments"))
        values = [x.v if isinstance(x, Jet) else x for x in inputs]
        if name in CONSTANT:  # comparisons, rounding, tests: piecewise constant, no derivative
            return ufunc(*values)
        rule = UNARY.get(name) if ufunc.nin == 1 else BINARY.get(name)
        if rule is None:
            raise TypeError(_unsupported(f"np.{name}"))
        with np.errstate(all="ignore"):
            if ufunc.nin == 1:
                f, f1, f2 = rule(values[0])
                u = inputs[0]
                return Jet(f, f1 * u.d1, f2 * u.d1**2 + f1 * u.d2)
            return _binary(rule(*values), *inputs)

    def __array_function__(self, func, types, args, kwargs):
        handler = FUNCTIONS.get(func.__name__)
        if handler is None:
            raise TypeError(_unsupported(f"np.{func.__name__}"))
        return handler(*args, **kwargs)

    def __repr__(self):
        return f"Jet(v={self.v!r}, d1={self.d1!r}, d2={self.d2!r})"


def _unsupported(what: str) -> str:
    return (f"boostloss cannot differentiate {what} automatically; write the loss with NumPy ufuncs, "
            "np.where/np.select/np.clip, give grad and hess yourself, or write it as a SymPy formula")


def _parts(x):
    """(value, d1, d2) of a jet or a constant."""
    if isinstance(x, Jet):
        return x.v, x.d1, x.d2
    x = np.asarray(x, dtype=np.float64)
    return x, np.zeros_like(x), np.zeros_like(x)


def _binary(partials, a, b):
    f, fu, fv, fuu, fuv, fvv = partials
    d1, d2 = 0.0, 0.0
    if isinstance(a, Jet):  # terms of a constant argument are skipped, not multiplied by 0
        d1, d2 = fu * a.d1, fuu * a.d1**2 + fu * a.d2
    if isinstance(b, Jet):
        d1, d2 = d1 + fv * b.d1, d2 + fvv * b.d1**2 + fv * b.d2
        if isinstance(a, Jet):
            d2 = d2 + 2.0 * fuv * a.d1 * b.d1
    return Jet(f, d1, d2)


def _sech2(x):
    """sech(x)^2 = 4 e^{-2|x|} / (1 + e^{-2|x|})^2, finite for every x."""
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / (1.0 + e) ** 2


def _tanh(x):
    t, s = np.tanh(x), _sech2(x)
    return t, s, -2.0 * t * s


def _expit(x):
    p, q = special.expit(x), special.expit(-x)
    return p, p * q, p * q * (q - p)


def _power(u, c):
    u = np.asarray(u, dtype=np.float64)
    f = np.power(u, c)
    log_u = np.log(u)
    return (f, c * np.power(u, c - 1.0), f * log_u, c * (c - 1.0) * np.power(u, c - 2.0),
            np.power(u, c - 1.0) * (1.0 + c * log_u), f * log_u**2)


def _divide(u, v):
    return u / v, 1.0 / v, -u / v**2, 0.0, -1.0 / v**2, 2.0 * u / v**3


def _select_max(u, v, take_u):
    one = take_u.astype(np.float64)
    return np.where(take_u, u, v), one, 1.0 - one, 0.0, 0.0, 0.0


def _hypot(u, v):
    h = np.hypot(u, v)
    return h, u / h, v / h, v * v / h**3, -u * v / h**3, u * u / h**3


def _logaddexp(u, v):
    s, t = special.expit(u - v), special.expit(v - u)
    return np.logaddexp(u, v), s, t, s * t, -s * t, s * t


def _arctan2(u, v):
    r2 = u * u + v * v
    return np.arctan2(u, v), v / r2, -u / r2, -2 * u * v / r2**2, (u * u - v * v) / r2**2, 2 * u * v / r2**2


def _xlogy(u, v):
    return special.xlogy(u, v), np.log(v), u / v, 0.0, 1.0 / v, -u / v**2


UNARY = {
    "negative": lambda x: (-x, -1.0, 0.0),
    "positive": lambda x: (x, 1.0, 0.0),
    "absolute": lambda x: (np.abs(x), np.sign(x), 0.0),
    "fabs": lambda x: (np.abs(x), np.sign(x), 0.0),
    "square": lambda x: (x * x, 2.0 * x, 2.0),
    "sqrt": lambda x: (np.sqrt(x), 0.5 / np.sqrt(x), -0.25 / (x * np.sqrt(x))),
    "cbrt": lambda x: (np.cbrt(x), np.cbrt(x) / (3 * x), -2 * np.cbrt(x) / (9 * x * x)),
    "reciprocal": lambda x: (1.0 / x, -1.0 / x**2, 2.0 / x**3),
    "exp": lambda x: (np.exp(x),) * 3,
    "exp2": lambda x: (np.exp2(x), np.exp2(x) * np.log(2), np.exp2(x) * np.log(2) ** 2),
    "expm1": lambda x: (np.expm1(x), np.exp(x), np.exp(x)),
    "log": lambda x: (np.log(x), 1.0 / x, -1.0 / x**2),
    "log2": lambda x: (np.log2(x), 1.0 / (x * np.log(2)), -1.0 / (x * x * np.log(2))),
    "log10": lambda x: (np.log10(x), 1.0 / (x * np.log(10)), -1.0 / (x * x * np.log(10))),
    "log1p": lambda x: (np.log1p(x), 1.0 / (1.0 + x), -1.0 / (1.0 + x) ** 2),
    "sin": lambda x: (np.sin(x), np.cos(x), -np.sin(x)),
    "cos": lambda x: (np.cos(x), -np.sin(x), -np.cos(x)),
    "tan": lambda x: (np.tan(x), 1.0 / np.cos(x) ** 2, 2.0 * np.tan(x) / np.cos(x) ** 2),
    "arctan": lambda x: (np.arctan(x), 1.0 / (1.0 + x * x), -2.0 * x / (1.0 + x * x) ** 2),
    "sinh": lambda x: (np.sinh(x), np.cosh(x), np.sinh(x)),
    "cosh": lambda x: (np.cosh(x), np.sinh(x), np.cosh(x)),
    "tanh": _tanh,
    "arcsinh": lambda x: (np.arcsinh(x), 1.0 / np.hypot(1.0, x), -x / np.hypot(1.0, x) ** 3),
    "expit": _expit,
    "log_expit": lambda x: (special.log_expit(x), special.expit(-x), -special.expit(x) * special.expit(-x)),
    "logit": lambda x: (special.logit(x), 1.0 / (x * (1 - x)), (2 * x - 1) / (x * (1 - x)) ** 2),
    "erf": lambda x: (special.erf(x), 2 / np.sqrt(np.pi) * np.exp(-x * x), -4 * x / np.sqrt(np.pi) * np.exp(-x * x)),
    "ndtr": lambda x: (special.ndtr(x), np.exp(-x * x / 2) / np.sqrt(2 * np.pi),
                       -x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)),
}

BINARY = {
    "add": lambda u, v: (u + v, 1.0, 1.0, 0.0, 0.0, 0.0),
    "subtract": lambda u, v: (u - v, 1.0, -1.0, 0.0, 0.0, 0.0),
    "multiply": lambda u, v: (u * v, v, u, 0.0, 1.0, 0.0),
    "divide": _divide,
    "true_divide": _divide,
    "power": _power,
    "float_power": _power,
    "maximum": lambda u, v: _select_max(u, v, np.asarray(u >= v)),
    "fmax": lambda u, v: _select_max(u, v, np.asarray(u >= v)),
    "minimum": lambda u, v: _select_max(u, v, np.asarray(u <= v)),
    "fmin": lambda u, v: _select_max(u, v, np.asarray(u <= v)),
    "hypot": _hypot,
    "logaddexp": _logaddexp,
    "arctan2": _arctan2,
    "xlogy": _xlogy,
}

CONSTANT = {
    "less", "less_equal", "greater", "greater_equal", "equal", "not_equal",
    "logical_and", "logical_or", "logical_not", "logical_xor", "isfinite", "isinf", "isnan", "signbit",
    "sign", "floor", "ceil", "trunc", "rint", "heaviside",
}


def _where(condition, x=None, y=None):
    if x is None or y is None:
        raise TypeError(_unsupported("np.where with one argument"))
    (xv, x1, x2), (yv, y1, y2) = _parts(x), _parts(y)
    c = np.asarray(condition.v if isinstance(condition, Jet) else condition)
    return Jet(np.where(c, xv, yv), np.where(c, x1, y1), np.where(c, x2, y2))


def _select(condlist, choicelist, default=0):
    parts = [_parts(choice) for choice in choicelist]
    dv, d1, d2 = _parts(default)
    conds = [np.asarray(c) for c in condlist]
    return Jet(*(np.select(conds, [p[i] for p in parts], d) for i, d in enumerate((dv, d1, d2))))


def _clip(a, a_min=None, a_max=None, **kwargs):
    if kwargs:
        raise TypeError(_unsupported("np.clip with keyword arguments"))
    if a_min is not None:
        a = np.maximum(a, a_min)
    return a if a_max is None else np.minimum(a, a_max)


def _constant_like(fill):
    def like(a, *args, **kwargs):
        return fill(a.v if isinstance(a, Jet) else a, *args, **kwargs)
    return like


FUNCTIONS = {
    "where": _where,
    "select": _select,
    "clip": _clip,
    "zeros_like": _constant_like(np.zeros_like),
    "ones_like": _constant_like(np.ones_like),
    "full_like": _constant_like(np.full_like),
    "empty_like": _constant_like(np.zeros_like),
    "shape": lambda a: a.shape,
    "ndim": lambda a: a.ndim,
    "size": lambda a, axis=None: a.v.size if axis is None else a.v.shape[axis],
}


def derivatives(func, y, raw, order: int = 2, **params):
    """First (``order=1``: ``(d1,)``) or first and second derivatives of ``func(y, raw, **params)``
    with respect to ``raw``, as float64 arrays shaped like ``raw``."""
    raw = np.asarray(raw, dtype=np.float64)
    with np.errstate(all="ignore"):
        out = func(y, Jet.variable(raw), **params)
    d1, d2 = (out.d1, out.d2) if isinstance(out, Jet) else (0.0, 0.0)
    result = tuple(np.array(np.broadcast_to(d, raw.shape), dtype=np.float64) for d in (d1, d2))
    return result[:order]
