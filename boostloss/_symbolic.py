"""SymPy formulas for ``CustomLoss``: parsing, exact derivatives, compilation to NumPy.

Needs SymPy (``pip install '.[symbolic]'`` in a checkout, or ``pip install sympy``);
``boostloss.custom`` imports this module only when a loss is written as a formula. Formulas are
strings (or SymPy expressions) in ``y``,
``raw`` and the loss's parameters, all real. Besides SymPy's functions (``exp``, ``log``,
``Abs``/``abs``, ``sqrt``, ``tanh``, ``Piecewise``, ``Max``/``max``, ``Min``/``min``, ``sign``,
``Heaviside``...) a formula may use ``where(cond, a, b)`` (a two-piece ``Piecewise``) and the
numerically stable ``log1p``, ``expm1``, ``sigmoid`` (``scipy.special.expit``),
``log_sigmoid`` (``log_expit``) and ``softplus`` (``logaddexp(0, x)``), whose derivatives
stay in stable forms. Derivatives are SymPy's; the ``DiracDelta`` terms that kinks produce
(the second derivative of ``Abs``, ``sign``, ``Heaviside``) are dropped, i.e. derivatives are
taken piece by piece.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy import special
from sympy.codegen.cfunctions import expm1, log1p
from sympy.core.function import AppliedUndef


class sigmoid(sp.Function):
    """``1 / (1 + exp(-x))``, evaluated with ``scipy.special.expit``."""

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sigmoid(x) * sigmoid(-x)

    def _eval_is_real(self):
        return self.args[0].is_real


class log_sigmoid(sp.Function):
    """``log(sigmoid(x)) = -softplus(-x)``, evaluated with ``scipy.special.log_expit``."""

    def fdiff(self, argindex=1):
        return sigmoid(-self.args[0])

    def _eval_is_real(self):
        return self.args[0].is_real


class softplus(sp.Function):
    """``log(1 + exp(x))``, evaluated with ``numpy.logaddexp(0, x)``."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_is_real(self):
        return self.args[0].is_real


def _softplus(x):
    return np.logaddexp(0.0, x)


NUMERIC = {"sigmoid": special.expit, "log_sigmoid": special.log_expit, "softplus": _softplus}


def _where(condition, a, b):
    return sp.Piecewise((a, condition), (b, True))


FUNCTIONS = {"log1p": log1p, "expm1": expm1, "sigmoid": sigmoid, "log_sigmoid": log_sigmoid,
             "softplus": softplus, "where": _where, "abs": sp.Abs, "max": sp.Max, "min": sp.Min}


def symbols(params) -> tuple:
    """The real symbols ``y``, ``raw`` and one per parameter."""
    return tuple(sp.Symbol(name, real=True) for name in ("y", "raw", *params))


def parse(formula, params, owner, what: str):
    """The SymPy expression of ``formula``; ValueError for unknown names or syntax errors."""
    names = symbols(params)
    known = {s.name: s for s in names}
    if isinstance(formula, sp.Expr):  # rebuild with our real symbols, matched by name
        expr = formula.subs({s: known[s.name] for s in formula.free_symbols if s.name in known})
    else:
        try:
            expr = sp.parse_expr(str(formula), local_dict={**FUNCTIONS, **known})
        except Exception as err:  # SyntaxError, TokenError, TypeError from sympy's evaluation
            raise ValueError(f"{owner}: cannot read the {what} {formula!r}: {err}") from None
    if not isinstance(expr, sp.Expr):
        raise ValueError(f"{owner}: the {what} {formula!r} is not a numeric expression")
    unknown = sorted(s.name for s in expr.free_symbols if s not in names)
    if unknown:
        raise ValueError(f"{owner}: the {what} uses unknown symbols {unknown}; it may use y, raw and the "
                         f"parameters {list(params)}")
    undefined = sorted({f.func.__name__ for f in expr.atoms(AppliedUndef)})
    if undefined:
        raise ValueError(f"{owner}: the {what} uses unknown functions {undefined}")
    return expr


def differentiate(expr, params, order: int) -> list:
    """``[d expr / d raw, ...]`` up to ``order``, without DiracDelta terms."""
    raw = symbols(params)[1]
    out = []
    for _ in range(order):
        expr = expr.diff(raw).replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero)
        out.append(expr)
    return out


def compile_numpy(exprs, params):
    """One NumPy function ``f(y, raw, *param_values) -> [array per expression]``."""
    return sp.lambdify(symbols(params), list(exprs), modules=[NUMERIC, "scipy", "numpy"], cse=True)
