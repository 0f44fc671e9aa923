"""The Optimizer base class: parameter groups, per-parameter state, zero_grad and state_dict, as torch.optim.

Subclasses validate their options in ``_check_options`` and update one parameter in place in ``_update``.
Updates write into NumPy arrays with ``out=`` and two scratch buffers shared by all parameters of a dtype,
so a steady-state ``step()`` allocates no parameter-sized memory.
"""

from __future__ import annotations

import copy
import numbers
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule.engine.autograd import enable_grad, inplace_time
from chainrule.engine.dtypes import constant
from chainrule.engine.tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class for optimizers, as ``torch.optim.Optimizer``.

    A subclass passes its defaults to ``__init__``, extends ``_check_options`` and defines
    ``_update(param, grad, state, options, scratch)``, which ``step()`` calls for each parameter with a gradient;
    ``options`` is ``_options(group)``, read once per group and step (the group dict itself unless overridden).

    Args:
        params: an iterable of Tensors, or of dicts ``{"params": [...], "lr": ...}`` (one per parameter group;
            options missing from a dict fall back to ``defaults``).
        defaults: the default value of every option.

    Raises:
        TypeError: params is a single Tensor, a set, or holds something other than Tensors.
        ValueError: the parameter list is empty, a parameter is repeated, or an option is out of range.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self._check_options(defaults)
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch_pools: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}
        self._scratch_views: dict[Tensor, tuple[np.ndarray, np.ndarray]] = {}
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors or dicts, got a single Tensor; "
                "pass [tensor] or model.parameters()"
            )
        groups: list[Any] = list(params)  # Tensors, or dicts (checked by add_param_group)
        if not groups:
            raise ValueError(f"{name}: expected at least one parameter, got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. a smaller lr for a pretrained body).

        Raises:
            TypeError: param_group is not a dict, or its params are a set or not Tensors.
            ValueError: a parameter is already optimized, is not a leaf, or an option is out of range.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a param group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a param group must have a 'params' key, got keys {sorted(param_group)}")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError(f"{name}: params must be an ordered collection (list), got a set whose order varies")
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (made by an op); optimize its inputs")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError(f"{name}: some parameters appear more than once; each parameter must be in one group")
        group = {**self.defaults, **param_group, "params": params}
        self._check_options(group)
        self.param_groups.append(group)

    def _check_options(self, options: dict[str, Any]) -> None:
        """Raise ValueError/TypeError for an option out of range; subclasses extend this."""
        self._check_range(options, "lr", 0.0)

    def _check_range(self, options: dict[str, Any], key: str, low: float, high: float | None = None) -> None:
        """Check ``low <= options[key]`` (and ``< high`` when given), quoting the value on failure."""
        value = options[key]
        name = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name}: {key} must be a real number, got {type(value).__name__} {value!r}")
        if high is None and not value >= low:  # type: ignore[operator]  # numbers.Real's stub has only < and <=
            raise ValueError(f"{name}: {key} must be >= {low:g}, got {value}")
        if high is not None and not low <= value < high:  # type: ignore[operator]  # numbers.Real's stub has only < and <=
            raise ValueError(f"{name}: {key} must be in [{low:g}, {high:g}), got {value}")

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set ``.grad`` to None (default) or fill it with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p._grad = None
                elif p._grad is not None:
                    p._grad.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place; return ``closure()`` when given.

        Raises:
            ValueError: a gradient's shape differs from its parameter's.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        state, views, update = self.state, self._scratch_views, self._update
        # one in-place change for the whole step, for backward's quick test (Tensor._bump_version does this per tensor)
        changes = inplace_time()
        for group in self.param_groups:
            options = self._options(group)  # once per group and step, not once per parameter
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                param = p._data
                if grad.shape != param.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step: expected a gradient of shape {param.shape} "
                        f"(the parameter's), got {grad.shape}"
                    )
                scratch = views.get(p)
                # dtypes by identity (NumPy's builtin dtypes are singletons); _scratch compares them by value
                if scratch is None or scratch[0].shape != param.shape or scratch[0].dtype is not param.dtype:
                    scratch = self._scratch(p)
                update(param, grad, state[p], options, scratch)
                # the one place every update happens: the parameter changed in place, as torch's version shows
                version = p._version  # the parameter changed in place: its version moves, as torch's does
                if version is None:
                    p._version = [1, changes]
                else:
                    version[0] += 1
                    version[1] = changes
        return loss

    def _options(self, group: dict[str, Any]) -> Any:
        """What ``_update`` reads of a group, read once per step (subclasses turn it into plain floats)."""
        return group

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], options: Any,
        scratch: tuple[np.ndarray, np.ndarray],
    ) -> None:
        """Update ``param`` in place from ``grad``, reading ``options = self._options(group)``; never write ``grad``."""
        raise NotImplementedError(f"{type(self).__name__} must define _update()")

    def _scratch(self, p: Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Two scratch arrays shaped like ``p``: views into buffers shared by all parameters of its dtype."""
        data = p._data
        views = self._scratch_views.get(p)
        if views is not None and views[0].shape == data.shape and views[0].dtype == data.dtype:
            return views
        pool = self._scratch_pools.get(data.dtype)
        if pool is None or pool[0].size < data.size:
            # Size for the largest parameter of this dtype at once, so the pool grows only when params change.
            size = max(q._data.size for g in self.param_groups for q in g["params"] if q._data.dtype == data.dtype)
            size = max(size, data.size)
            pool = (np.empty(size, data.dtype), np.empty(size, data.dtype))
            self._scratch_pools[data.dtype] = pool
            self._scratch_views.clear()  # drop views of the old pool so its memory is freed
        views = (pool[0][: data.size].reshape(data.shape), pool[1][: data.size].reshape(data.shape))
        self._scratch_views[p] = views
        return views

    # ------------------------------------------------------------------ saving
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data: ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are replaced by their index (counting through the groups in order, as torch does);
        buffers are copied NumPy arrays, everything else is a number, string, bool or list.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: {k: _plain(v) for k, v in s.items()}
            for g in self.param_groups for p in g["params"] if (s := self.state.get(p))
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()`` (state keys may be ints or their strings, as after JSON).

        Raises:
            ValueError: the group count or sizes differ, or a saved buffer's shape differs from its parameter's.
            KeyError: the dict lacks "state" or "param_groups".
        """
        name = type(self).__name__
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise KeyError(f"{name}.load_state_dict: expected a dict with keys 'state' and 'param_groups', "
                               f"got keys {sorted(state_dict)}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: expected {len(self.param_groups)} parameter groups, "
                             f"got {len(saved_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has {len(group['params'])} "
                                 f"parameters, the saved one has {len(saved['params'])}")
        by_index = {int(k): v for k, v in state_dict["state"].items()}
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            for i, p in zip(saved["params"], group["params"]):
                if int(i) in by_index:
                    state[p] = {k: _restore(name, k, v, p._data) for k, v in by_index[int(i)].items()}
            restored = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            if "betas" in restored:
                restored["betas"] = tuple(restored["betas"])
            new_groups.append({**restored, "params": group["params"]})
        self.state = state
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join([*lines, ")"])


def _plain(value: Any) -> Any:
    """A copy of ``value`` made of arrays, numbers, strings and lists only (tuples become lists)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _restore(name: str, key: str, value: Any, param: np.ndarray) -> Any:
    """A saved state value as live state: buffers become fresh arrays of the parameter's dtype."""
    if key == "step":
        return int(np.asarray(value).item())
    if isinstance(value, np.ndarray | list):
        array = np.array(value, dtype=param.dtype)  # always a copy, so the saved dict stays untouched
        if array.shape != param.shape:
            raise ValueError(f"{name}.load_state_dict: state {key!r} should have the parameter's shape "
                             f"{param.shape}, got {array.shape}")
        return array
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------- shared update pieces
def decayed_grad(param: np.ndarray, grad: np.ndarray, weight_decay: float, out: np.ndarray) -> np.ndarray:
    """``grad + weight_decay * param`` written into ``out`` (``grad`` itself when weight_decay is 0)."""
    if weight_decay == 0:
        return grad
    np.multiply(param, constant(weight_decay, param.dtype), out=out)
    out += grad
    return out


def signed_decayed_grad(param: np.ndarray, grad: np.ndarray, weight_decay: float, maximize: bool,
                        out: np.ndarray) -> np.ndarray:
    """``(-grad if maximize else grad) + weight_decay * param``, in ``out`` when it differs from ``grad``."""
    if not maximize:
        return decayed_grad(param, grad, weight_decay, out)
    if weight_decay == 0:
        return np.negative(grad, out=out)
    np.multiply(param, weight_decay, out=out)
    out -= grad
    return out


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, scratch: np.ndarray) -> None:
    """``start += weight * (end - start)`` in place, with torch's two formulas for small and large weights."""
    np.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        scratch *= constant(weight, scratch.dtype)
        start += scratch
    else:
        scratch *= constant(1.0 - weight, scratch.dtype)
        np.subtract(end, scratch, out=start)


def square_avg_(avg: np.ndarray, grad: np.ndarray, beta: float, scratch: np.ndarray) -> None:
    """``avg = beta * avg + (1 - beta) * grad**2`` in place (torch's ``mul_(beta).addcmul_``)."""
    np.multiply(grad, constant(1.0 - beta, grad.dtype), out=scratch)
    scratch *= grad
    avg *= constant(beta, avg.dtype)
    avg += scratch
