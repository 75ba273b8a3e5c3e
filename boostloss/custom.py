"""Users' own losses: write the loss once, get exact derivatives on every booster.

::

    under = bl.CustomLoss("where(raw < y, cost, 1) * (raw - y)**2 / 2", cost=3.0, name="under")
    bl.check_derivatives(under, strict=True)              # before training on it

The loss is a formula in the target ``y``, the raw score ``raw`` and named parameters:

* a **SymPy formula**, as a string (or SymPy expression): derivatives are SymPy's, compiled to
  vectorised NumPy (needs SymPy: ``pip install '.[symbolic]'`` in a checkout, or ``pip install
  sympy``; see ``boostloss._symbolic`` for the functions a formula may use, such as ``where``,
  ``Piecewise``, ``Abs``, ``log1p``,
  ``sigmoid``, ``log_sigmoid`` and ``softplus``);
* a **NumPy function** ``f(y, raw, **params)`` defined with ``def`` at module level (lambdas
  and nested functions cannot be pickled and are refused): derivatives by forward-mode
  automatic differentiation (``boostloss._jets``), exact up to rounding.

``grad`` and ``hess`` may be given by hand (formulas or functions, checked by
``check_derivatives``); a missing one is derived from the next lower one. Formulas are
evaluated as written: ``log(cosh(r))`` overflows past ``|r| ~ 710`` where
``Abs(r) + log1p(exp(-2*Abs(r))) - log(2)`` does not, and ``log(1 + exp(-z))`` loses the
precision that ``softplus(-z)`` keeps; ``check_derivatives`` reports non-finite outputs.
Formula strings are evaluated like Python code: never build them from untrusted input.
"""

from __future__ import annotations

import inspect
import pickle
from importlib import import_module

import numpy as np

from . import _jets
from ._booster import install_hint
from .losses.base import NON_NEGATIVE, REAL, IdentityLink, Interval, Link, LogitLink, LogLink, Loss, secant_floor
from .losses.binary import BinaryLoss

LINKS = {"identity": IdentityLink, "log": LogLink, "logit": LogitLink}
DOMAINS = {"identity": REAL, "log": NON_NEGATIVE, "logit": Interval(0.0, 1.0, True, True)}
TARGET_CANDIDATES = (0.5, 1.0, 0.0, 2.0, -1.0)  # a valid target for the smoke test at construction


def _symbolic():
    """``boostloss._symbolic``, or an ImportError naming the extra that installs SymPy."""
    try:
        import_module("sympy")
    except ImportError as err:
        raise ImportError(f"boostloss: losses written as formulas need SymPy: {install_hint('symbolic', 'sympy')} "
                          "(or write the loss as a NumPy function)") from err
    return import_module("boostloss._symbolic")


def _is_formula(spec) -> bool:
    return isinstance(spec, str) or type(spec).__module__.startswith("sympy")


def _describe(value) -> str:
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, Link):
        return repr(value.name)
    if isinstance(value, Interval):
        return repr(value.describe())
    return repr(value if not _is_formula(value) else str(value))


def parse_interval(text: str) -> Interval:
    """``"[0, inf)"`` -> ``Interval(0, inf, True, False)``: the notation of ``Interval.describe``."""
    text = text.strip()
    if len(text) < 5 or text[0] not in "[(" or text[-1] not in "])" or text.count(",") != 1:
        raise ValueError(f"cannot read the interval {text!r}; write it like '[0, inf)' or '(-1, 1]'")
    low, high = (float(part) for part in text[1:-1].split(","))
    return Interval(low, high, text[0] == "[", text[-1] == "]")


class CustomLoss(Loss):
    """A loss written by its user: ``formula`` in ``y``, ``raw`` and the keyword parameters.

    Parameters
    ----------
    formula : SymPy formula (string or expression) or module-level NumPy function
        ``f(y, raw, **params)``; the per-row loss.
    grad, hess : optional, same kinds: exact first and second derivatives w.r.t. ``raw``.
        Missing ones are derived exactly (symbolically, or by automatic differentiation).
    link : ``"identity"`` (default), ``"log"``, ``"logit"`` or a ``Link``.
    domain : valid targets, an ``Interval`` or its notation such as ``"[0, inf)"``; default
        all reals (identity link), ``[0, inf)`` (log), ``[0, 1]`` (logit).
    hessian : ``"exact"`` (default) or ``"secant"`` (identity link only):
        ``max(|g| / max(|r|, eps), h)`` with ``r = raw - y`` and ``eps`` a tenth of the batch's
        mean ``|r|``. For a loss minimised at ``r = 0`` this is the secant ``g / r`` (the
        curvature of the quadratic through the minimum that touches the loss at ``r``) with the
        Hunter-Lange floor ``eps`` of the built-in piecewise-linear losses: positive where their
        exact Hessian is 0, and finite for rows fitted exactly.
    init : optional module-level function ``init(y, sample_weight, **params)`` giving the optimal
        constant raw score; without it ``init_score`` is the root of the mean gradient (the
        minimiser, for convex losses), found numerically.
    name : the name metrics and logs show (no spaces or colons).
    **params : the loss's parameters (finite numbers), tunable with ``set_params``.
    """

    name = "custom"
    hessian_policies = ("exact", "secant")
    _fixed = ("formula", "grad", "hess", "link", "domain", "hessian", "init", "name")

    def __init__(self, formula, *, grad=None, hess=None, link="identity", domain=None, hessian="exact", init=None,
                 name="custom", **params):
        self.link, self.domain = link, domain
        self._setup(formula, grad, hess, hessian, init, name, params)

    def _setup(self, formula, grad, hess, hessian, init, name, params):
        self.formula, self.grad, self.hess = formula, grad, hess
        self.hessian, self.init, self.name = hessian, init, name
        for key in params:
            if key in ("y", "raw", *self._fixed) or key.startswith("_") or hasattr(type(self), key):
                raise ValueError(f"{self._owner()}: {key!r} cannot name a parameter (it is taken)")
        self._params = tuple(params)
        for key, value in params.items():
            setattr(self, key, value)
        self._check_params()

    # ---- parameters ---------------------------------------------------------------
    def _param_names(self) -> list[str]:
        return [*self._fixed, *self._params]

    def _values(self) -> dict:
        return {key: float(getattr(self, key)) for key in self._params}

    def _owner(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def _check_params(self):
        if not isinstance(self.name, str) or not self.name or any(c.isspace() or c == ":" for c in self.name):
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string without spaces or colons "
                             f"(boosters' evaluation logs split on them), got {self.name!r}")
        owner = self._owner()
        if "link" in self._fixed:
            self._check_link_and_domain(owner)
        super()._check_params()
        if self.hessian == "secant" and not isinstance(self.link, IdentityLink):
            raise ValueError(f"{owner}: the secant Hessian needs the identity link, not the {self.link!r}")
        for key in self._params:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
                raise ValueError(f"{owner}: parameter {key} must be a finite number, got {value!r}")
        for what in ("formula", "grad", "hess", "init"):
            self._check_piece(owner, what)
        self._compiled()
        self._smoke_test(owner)

    def _check_link_and_domain(self, owner):
        """Turn link and domain given by name into a Link and an Interval (once: clones keep them)."""
        if isinstance(self.link, str) and self.link in LINKS:
            self.link = LINKS[self.link]()
        if not isinstance(self.link, (IdentityLink, LogLink, LogitLink)):
            raise ValueError(f"{owner}: link must be one of {sorted(LINKS)} (one raw score per row), got {self.link!r}")
        if self.domain is None:
            self.domain = DOMAINS[self.link.name]
        elif isinstance(self.domain, str):
            try:
                self.domain = parse_interval(self.domain)
            except ValueError as err:
                raise ValueError(f"{owner}: domain: {err}") from None
        if not isinstance(self.domain, Interval):
            raise ValueError(f"{owner}: domain must be an Interval or a string like '[0, inf)', got {self.domain!r}")

    def _check_piece(self, owner, what):
        """A piece is a formula (not ``init``), a function that pickles, or None (not ``formula``)."""
        spec = getattr(self, what)
        if (spec is None and what != "formula") or (_is_formula(spec) and what != "init"):
            return
        if not callable(spec):
            kinds = "a function" if what == "init" else "a SymPy formula (a string) or a NumPy function"
            raise ValueError(f"{owner}: {what} must be {kinds}, got {spec!r}")
        try:
            pickle.dumps(spec)
        except Exception as err:  # PicklingError, AttributeError for local objects, TypeError
            raise ValueError(f"{owner}: the {what} {_describe(spec)} cannot be pickled ({err}); define it with def "
                             "at module level (lambdas and nested functions cannot be pickled) or write a formula"
                             ) from None

    def _smoke_test(self, owner):
        """Evaluate once at construction, so that a broken loss fails here, not inside a booster."""
        for target in TARGET_CANDIDATES:
            try:
                self._check_domain(np.array([target]))
            except ValueError:
                continue
            start = float(self.link(np.array([target]))[0])
            y, raw = np.full(2, target), (start if np.isfinite(start) else 0.0) + np.array([0.0, 0.25])
            try:
                self._loss(y, raw)
                self._derivatives(y, raw)
            except Exception as err:
                raise ValueError(f"{owner}: evaluating the loss at y={target}, raw={raw.tolist()} failed: "
                                 f"{type(err).__name__}: {err}") from None
            return

    def __getstate__(self):
        return {key: value for key, value in self.__dict__.items() if key != "_cache"}

    def __repr__(self):
        defaults = {"grad": None, "hess": None, "hessian": "exact", "init": None, "name": "custom"}
        if "link" in self._fixed and isinstance(self.link, Link):
            defaults.update(link=IdentityLink(), domain=DOMAINS.get(self.link.name))
        shown = [_describe(self.formula)]
        shown += [f"{key}={_describe(getattr(self, key))}" for key in self._fixed[1:]
                  if key not in defaults or getattr(self, key) != defaults[key]]
        shown += [f"{key}={getattr(self, key)!r}" for key in self._params]
        return f"{type(self).__name__}({', '.join(shown)})"

    # ---- the math ---------------------------------------------------------------------
    def _compiled(self) -> _Compiled:
        """The compiled pieces, built on first use and after the formulas change (not pickled)."""
        key = (self.formula, self.grad, self.hess, self._params)
        cache = self.__dict__.get("_cache")
        if cache is None or cache[0] != key:
            cache = self.__dict__["_cache"] = (key, _Compiled(self, self._owner()))
        return cache[1]

    def _loss(self, y, raw):
        return self._compiled().loss(y, raw, self._values())

    def _derivatives(self, y, raw):
        return self._compiled().derivatives(y, raw, self._values())

    def _policy_hessian(self, y, raw, grad, hess, residual_scale=None):
        if self.hessian == "secant":
            return np.maximum(np.abs(grad) / np.maximum(np.abs(raw - y), secant_floor(y, raw, residual_scale)), hess)
        return hess

    def _rescales_hessian(self) -> bool:
        return self.hessian == "secant"

    @property
    def uses_secant_floor(self) -> bool:  # the secant Hessian is floored at eps (see _policy_hessian)
        return self.hessian == "secant"

    def _closed_form_init(self, y, w):
        return None if self.init is None else float(self.init(y, w, **self._values()))

    def _init_guess(self, y, w) -> float:
        """The median (identity link), else the link of the clipped weighted mean."""
        if isinstance(self.link, IdentityLink):
            return super()._init_guess(y, w)
        mean = max(float(np.average(y, weights=w)), 1e-12)
        return float(self.link(np.array([min(mean, 1 - 1e-12) if isinstance(self.link, LogitLink) else mean]))[0])

    def _init_step(self, y, w) -> float:
        return super()._init_step(y, w) if isinstance(self.link, IdentityLink) else 1.0


class CustomBinaryLoss(CustomLoss, BinaryLoss):
    """A ``CustomLoss`` for 0/1 labels with the logit link (``raw`` is the log-odds): a binary
    loss, so ``BoostClassifier`` takes it. Same parameters as ``CustomLoss`` without ``link``
    and ``domain``. Example, the focal loss::

        CustomBinaryLoss("-(alpha*y + (1 - alpha)*(1 - y)) * sigmoid(-(2*y - 1)*raw)**gamma"
                         " * log_sigmoid((2*y - 1)*raw)", alpha=0.25, gamma=2.0, name="focal")
    """

    _fixed = ("formula", "grad", "hess", "hessian", "init", "name")
    _init_guess = BinaryLoss._init_guess
    _init_step = BinaryLoss._init_step

    def __init__(self, formula, *, grad=None, hess=None, hessian="exact", init=None, name="custom", **params):
        self._setup(formula, grad, hess, hessian, init, name, params)


class _Compiled:
    """The loss and its two derivatives of a CustomLoss as NumPy code of ``(y, raw, values)``.

    A piece is ``(kind, spec, order)``: a SymPy ``"formula"`` (derivatives by SymPy, compiled
    together by ``lambdify``), a given ``"function"``, or a ``"jet"``: the ``order``-th
    derivative of a function by automatic differentiation. A missing gradient is derived from
    the loss; a missing Hessian from the given gradient, else from the loss.
    """

    def __init__(self, loss: CustomLoss, owner: str):
        params = loss._params
        formula, grad, hess = (self._piece(getattr(loss, what), params, owner, what)
                               for what in ("formula", "grad", "hess"))
        if hess is None:
            hess = self._derive(grad, 1, params) if grad is not None else self._derive(formula, 2, params)
        if grad is None:
            grad = self._derive(formula, 1, params)
        self._loss = self._plan([formula], params)
        self._derivatives = self._plan([grad, hess], params)

    @staticmethod
    def _piece(spec, params, owner, what):
        if spec is None:
            return None
        if _is_formula(spec):
            expr = _symbolic().parse(spec, params, owner, what)
            if what == "formula" and _symbolic().differentiate(expr, params, 1)[0] == 0:
                raise ValueError(f"{owner}: the formula does not depend on raw")
            return ("formula", expr, 0)
        try:
            inspect.signature(spec).bind(None, None, **dict.fromkeys(params, 0.0))
        except TypeError as err:
            raise ValueError(f"{owner}: the {what} function {_describe(spec)} must take (y, raw, "
                             f"{', '.join(params) or '...'}) as the loss's parameters: {err}") from None
        except ValueError:  # builtins without a signature: nothing to check
            pass
        return ("function", spec, 0)

    @staticmethod
    def _derive(piece, order, params):
        kind, spec, _ = piece
        if kind == "formula":
            return ("formula", _symbolic().differentiate(spec, params, order)[-1], 0)
        return ("jet", spec, order)

    @staticmethod
    def _plan(pieces, params):
        formulas = [spec for kind, spec, _ in pieces if kind == "formula"]
        return pieces, (_symbolic().compile_numpy(formulas, params) if formulas else None)

    @staticmethod
    def _run(plan, y, raw, values):
        pieces, compiled = plan
        with np.errstate(all="ignore"):  # Piecewise evaluates every branch on every row
            from_formulas = iter(compiled(y, raw, *values.values()) if compiled is not None else ())
        jets, out = {}, []
        for kind, spec, order in pieces:
            if kind == "formula":
                value = next(from_formulas)
            elif kind == "function":
                value = spec(y, raw, **values)
            else:
                if spec not in jets:  # one pass gives both derivatives of the same function
                    top = max(o for k, s, o in pieces if k == "jet" and s is spec)
                    jets[spec] = _jets.derivatives(spec, y, raw, top, **values)
                value = jets[spec][order - 1]
            out.append(np.array(np.broadcast_to(value, np.shape(raw)), dtype=np.float64))
        return out

    def loss(self, y, raw, values):
        return self._run(self._loss, y, raw, values)[0]

    def derivatives(self, y, raw, values):
        grad, hess = self._run(self._derivatives, y, raw, values)
        return grad, hess
