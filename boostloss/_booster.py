"""Booster-agnostic plumbing shared by the three adapters (which never import each other)."""

from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager
from importlib import import_module

import numpy as np

from .losses.base import Link, Loss, as_booster_floats
from .metrics import Metric
from .registry import get_loss, get_metric


def install_hint(extra: str, package: str) -> str:
    """How to install what an optional part needs: the package itself, or boostloss's extra
    from a checkout or a built wheel (boostloss is not on the package index)."""
    return (f"pip install {package}, or boostloss's '{extra}' extra from a checkout: pip install '.[{extra}]' "
            f"(from a built wheel: pip install 'boostloss-<version>-py3-none-any.whl[{extra}]')")


def import_booster(module: str, extra: str):
    """Import a booster package, or raise an ImportError that says how to install it."""
    try:
        return import_module(module)
    except ImportError as err:
        raise ImportError(f"boostloss.{extra} needs the {module} package: "
                          f"{install_hint(extra, module.partition('.')[0])}") from err


def resolve_metric(metric_or_loss, loss=None) -> tuple[Metric, Link | None]:
    """The Metric to compute and the link that maps raw scores to its predictions.

    A loss given as the metric is evaluated on raw scores (its own mean); a plain metric
    uses ``loss``'s link when a loss is given, else its own default link.
    """
    metric = get_metric(metric_or_loss)
    return metric, (get_loss(loss).link if loss is not None else None)


def start_scores(loss: Loss, labels, weights, n_classes=None) -> np.ndarray:
    """``loss.init_score`` as a float array: shape (1,) for one output, (k,) for several."""
    weights = None if weights is None or np.size(weights) == 0 else weights
    if loss.is_multiclass:
        return np.asarray(loss.init_score(labels, weights, n_classes=n_classes), dtype=np.float64)
    if loss.multi_output:
        return np.asarray(loss.init_score(labels, weights), dtype=np.float64)
    return np.atleast_1d(np.float64(loss.init_score(labels, weights)))


def boosting_scale(loss: Loss, labels, weights, init: np.ndarray, per_round: bool = False):
    """``loss.boosting_scale`` at the start score on all training rows (None if not rescaled);
    with ``per_round`` the factor is left to each round (boosters that hand over every row)."""
    if loss.is_multiclass or not loss._rescales_hessian():
        return None
    labels = np.asarray(labels, dtype=np.float64)
    return loss.boosting_scale(labels, per_row(init, labels.shape[0]), nonempty(weights), with_factor=not per_round)


def categorical_columns(X) -> list:
    """Names of the pandas ``category`` columns of a DataFrame (none for arrays)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None:
        return []
    return [name for name, dtype in dtypes.items() if getattr(dtype, "name", "") == "category"]


def per_row(init: np.ndarray, n: int) -> np.ndarray:
    """The start score repeated for ``n`` rows: (n,) for one output, (n, k) for several."""
    return np.full(n, init[0]) if init.size == 1 else np.tile(init, (n, 1))


_CHECKED: set = set()  # RoundInputs tokens inside checked()
_SHARED: dict = {}  # RoundInputs token -> the lagged round state of a run inside shared_rounds()


class RoundInputs:
    """What an objective keeps from one boosting round to the next: the fingerprint of the
    targets and weights it validated, the residual scale of a hand-built objective, the
    ``loss.round_state()`` of a loss with a round statistic (GHM's density), and the gradient
    and Hessian buffers, which boosters copy from before the next round. Kept per
    thread (one objective may serve several threads, e.g. Dask workers in one process).
    Pickles empty but for its token."""

    def __init__(self, loss, token=None):
        self.loss = loss
        self.token = token or uuid.uuid4().hex  # shared by copies (boosters deep-copy their params)
        self._local = threading.local()

    def __reduce__(self):
        return type(self), (self.loss, self.token)

    def __getattr__(self, name):  # _buffers, _scale, _key, _seen, _state: this thread's, None at first
        if name.startswith("_") and name != "_local":
            return getattr(self._local, name, None)
        raise AttributeError(name)

    def __setattr__(self, name, value):
        if name in ("_buffers", "_scale", "_key", "_seen", "_state"):
            setattr(self._local, name, value)
        else:
            super().__setattr__(name, value)

    @contextmanager
    def checked(self):
        """For ``train()``, which has validated the targets: inside the block ``is_checked()`` is
        True, for this object and for the copies the booster makes of it (CatBoost's blocks then
        skip their checks)."""
        _CHECKED.add(self.token)
        try:
            yield
        finally:
            _CHECKED.discard(self.token)

    def is_checked(self) -> bool:
        """Whether this object (or the one it was copied from) is inside ``checked``."""
        return self.token in _CHECKED

    @contextmanager
    def shared_rounds(self):
        """For a booster that hands each round over in blocks and copies the objective (CatBoost):
        inside the block, a lagged ``loss.round_state`` for the run (None for losses without a
        round statistic), which this object and its copies find with ``shared_state``; yielded,
        for the booster's callback that ends each round (``end_round``)."""
        state = self.loss.round_state(lagged=True)
        if state is not None:
            _SHARED[self.token] = state
        try:
            yield state
        finally:
            _SHARED.pop(self.token, None)

    def shared_state(self):
        """The round state of the ``shared_rounds`` block this object (or its original) is in, or None."""
        return _SHARED.get(self.token)

    def grad_hess(self, labels, weights, raw, fixed=None, reduce=None):
        """``loss.boosting_grad_hess`` of this round into this thread's float32 buffers, computed
        with the booster's own labels and weights as it hands them (read in place where it lets
        them be: no copy per round). They are validated (``loss.validate``, ValueError) when
        first seen and whenever their shape or dtype changes; the kernel's pass also returns
        their fingerprint (``kernels.fingerprint``), and a changed one (labels or weights set
        again between rounds) validates them again, resets the scale and computes again. So no
        copy is kept to compare them with, and no pass of its own reads them. New targets also
        start a fresh round state (the one a new training run starts with). ``fixed`` and
        ``reduce``: as for ``scale`` and ``Loss.boosting_grad_hess``."""
        y = as_booster_floats(labels, self.loss, "targets")
        if self.loss.target_columns and y.ndim == 1:  # (n, k) targets handed flattened
            y = y.reshape(np.shape(raw)[0], -1)
        w = nonempty(weights)
        w = None if w is None else as_booster_floats(w, self.loss, "sample weights")
        key = (y.shape, y.dtype, None if w is None else (w.shape, w.dtype))
        if self._key != key:
            if y.size:  # a distributed worker without training rows: zero rows, not an error
                self.loss.validate(y, w)
            self._key, self._seen, self._scale, self._state = key, None, None, self.loss.round_state()
        while True:  # twice when the labels were set again since the last round
            grad, hess, seen = self.loss.boosting_grad_hess(y, raw, w, self.scale(fixed, y, raw, w), reduce=reduce,
                                                            out=self.buffers(raw, np.float32), fingerprint=True,
                                                            state=self._state)
            if self._seen is None or seen == self._seen:
                self._seen = seen
                return grad, hess
            if y.size:
                self.loss.validate(y, w)
            self._seen, self._scale, self._state = seen, None, self.loss.round_state()

    def scale(self, fixed, y, raw, w):
        """``fixed`` (the ``BoostingScale`` that ``train()`` passes), else, for an objective built
        by hand, the scale of its first round's scores on these targets with the factor left to
        each round, as ``train()`` fixes it at the start: computed once per training set, not in
        an extra pass over the rows every round."""
        if fixed is not None or not self.loss._rescales_hessian():
            return fixed
        if self._scale is None:
            self._scale = self.loss.boosting_scale(y, raw, w, with_factor=False)
        return self._scale

    def buffers(self, raw, dtype=np.float64):
        """Two ``dtype`` arrays shaped (and ordered) like ``raw``, the same ones every round.
        XGBoost and LightGBM store gradients as float32: handing them float32 saves them a
        conversion pass (the kernels compute in float64 and round once, as the booster would)."""
        raw = np.asarray(raw)
        grad = None if self._buffers is None else self._buffers[0]
        if (grad is None or grad.shape != raw.shape or grad.dtype != dtype
                or grad.flags.f_contiguous != raw.flags.f_contiguous):
            self._buffers = (np.empty_like(raw, dtype), np.empty_like(raw, dtype))
        return self._buffers


def check_feature_counts(loss, n_train, n_evals) -> None:
    """ValueError, before any round, when an evaluation set has another number of features
    than the training data (counts of None, unknown before construction, are skipped)."""
    for i, n in enumerate(n_evals):
        if n is not None and n_train is not None and n != n_train:
            raise ValueError(f"{loss}: evaluation set {i} has {n} features, the training data {n_train}")


def nonempty(weights):
    """Booster weight getters return empty arrays or None for 'no weights'; normalise to None."""
    return None if weights is None or np.size(weights) == 0 else weights


class LeafRefit:
    """Leaf refits for one training run (``Loss.refits_leaves``): each new tree's leaves are set
    to ``shrinkage * loss.leaf_values`` of the training rows they hold, as the boosters' own L1
    and quantile objectives do.

    The booster keeps the scores it computed with the trees' first leaf values; ``offset`` is
    what to add to them to get the refitted model's scores, for the training set and for each
    evaluation set. ``trees`` is the booster's side (see the adapters): ``count()``, the trees
    grown so far; ``leaves(data, tree)``, the leaf index of each row of ``data``;
    ``leaf_table(tree)``, the tree's stored leaf values (indexed by leaf) and its shrinkage;
    ``store(tree, values)``; ``outputs``, the trees grown per round, one per output (a
    multi-output loss: tree ``t`` scores output ``t % outputs``, refitted by
    ``loss.leaf_values(..., output=t % outputs)``). Objectives call ``train_scores`` every round,
    metrics ``offset``; a tree is refitted by whichever comes first after it is grown (``sync``),
    so before anything is evaluated on it.
    """

    def __init__(self, loss, trees, train, labels, weights, key=None):
        self.loss, self.trees = loss, trees
        self.y = np.asarray(labels, dtype=np.float64)
        self.w = None if nonempty(weights) is None else np.asarray(weights, dtype=np.float64)
        self.first = self.done = None  # trees before this run (an init_model's are kept), trees refitted
        self.before = None  # the refitted model's training scores before the newest tree
        self.changes = {}  # tree -> change of each of its leaves' values
        self.sets = [_RefitSet(train, key, self.y)]  # the training set, then the evaluation sets

    def add(self, data, key=None, labels=None) -> None:
        """Register an evaluation set: ``data`` as ``trees.leaves`` takes it, ``key`` the object
        the booster hands its metric for it; ``labels`` identify it where a metric is handed
        labels instead (the scikit-learn APIs)."""
        self.sets.append(_RefitSet(data, key, labels))

    def __deepcopy__(self, memo):
        return self  # boosters deep-copy objectives and metrics: every copy serves this run

    def __getstate__(self):
        return {**self.__dict__, **self._closed()}  # pickles closed: a run's booster and data stay behind

    def close(self) -> None:
        """End of the run: let go of the booster and the data (copies of the objective that the
        booster keeps share this object); from now on scores pass unchanged."""
        self.__dict__.update(self._closed())

    @staticmethod
    def _closed() -> dict:
        return {"trees": None, "y": None, "w": None, "before": None, "sets": [], "changes": {}}

    def train_scores(self, scores) -> np.ndarray:
        """The refitted model's training scores, from the booster's ``scores`` of this round."""
        if self.trees is None:
            return scores
        if self.done is None:
            self.first = self.done = self.trees.count()
        self.sync()
        self.before = np.asarray(scores, dtype=np.float64) + self._bring_up(self.sets[0])
        return self.before

    def sync(self) -> None:
        """Refit the newest round's trees, if they have not been yet."""
        if self.before is None or self.trees is None:
            return
        outputs = getattr(self.trees, "outputs", 1)
        while self.done < self.trees.count():
            tree, train = self.done, self.sets[0]
            leaves = np.asarray(self.trees.leaves(train.data, tree), dtype=np.int64)
            stored, shrinkage = self.trees.leaf_table(tree)
            by_output = {} if outputs == 1 else {"output": tree % outputs}
            fitted = self.loss.leaf_values(self.y, self.before, leaves, stored.size, self.w, **by_output)
            values = np.where(np.isnan(fitted), stored, shrinkage * fitted)
            self.trees.store(tree, values)
            self.changes[tree] = values - stored
            self.done += 1
            train.add(self._placed(tree, leaves), self.done)

    def _placed(self, tree, leaves):
        """The change of ``tree`` on rows in these ``leaves``: (n,), or with several outputs (n, k),
        zero but in the tree's output's column."""
        change = self.changes[tree][leaves]
        outputs = getattr(self.trees, "outputs", 1)
        if outputs == 1:
            return change
        placed = np.zeros((change.size, outputs))
        placed[:, tree % outputs] = change
        return placed

    def offset(self, which):
        """What to add to the booster's scores of a registered set: ``which`` is the data set
        the booster hands the metric, or its labels; 0 for a set not registered."""
        self.sync()
        entry = self._find(which)
        return 0.0 if entry is None or self.done is None else self._bring_up(entry)

    def _bring_up(self, entry):
        """``entry``'s offset, with the changes of the trees refitted since its last update."""
        for tree in range(max(entry.trees, self.first), self.done):
            leaves = np.asarray(self.trees.leaves(entry.data, tree), dtype=np.int64)
            entry.add(self._placed(tree, leaves), tree + 1)
        entry.trees = self.done
        return entry.offset

    def _find(self, which):
        for entry in self.sets:
            if entry.key is not None and entry.key is which:
                return entry
        if isinstance(which, np.ndarray):
            labels = which.astype(np.float32, copy=False)
            for entry in self.sets:
                if entry.labels is not None and np.array_equal(entry.labels, labels):
                    return entry
        return None


class Refitted:
    """A metric evaluated on a ``LeafRefit``'s scores (the booster's own keep the leaf values the
    trees were grown with): the train APIs hand it ``(scores, data)``, ``data`` an instance of
    ``data_type`` (XGBoost's DMatrix, LightGBM's Dataset); the scikit-learn APIs hand it
    ``(labels, scores)`` and maybe ``sample_weight`` (three parameters: LightGBM counts them)."""

    def __init__(self, metric, refit, data_type):
        self.metric, self.refit, self.data_type = metric, refit, data_type

    @property
    def __name__(self):
        return getattr(self.metric, "__name__", "metric")

    def __call__(self, first, second, sample_weight=None):
        if isinstance(second, self.data_type):
            return self.metric(first + self.refit.offset(second), second)
        return self.metric(first, second + self.refit.offset(np.asarray(first)), sample_weight=sample_weight)


def end_refit(objective) -> None:
    """Close the objective's ``LeafRefit`` (if any) and detach it: at the end of a run, also one
    that raised, so that the booster and the data are let go."""
    if objective.refit is not None:
        objective.refit.close()
        objective.refit = None


class _RefitSet:
    """A data set of a ``LeafRefit``: its offset (0 or one value per row) and the trees it covers."""

    def __init__(self, data, key, labels):
        self.data, self.key = data, key
        self.labels = None if labels is None else np.asarray(labels, dtype=np.float32)
        self.offset = 0.0
        self.trees = 0

    def add(self, change, trees) -> None:
        self.offset = self.offset + change
        self.trees = trees
