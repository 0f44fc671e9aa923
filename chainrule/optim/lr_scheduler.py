"""Learning-rate schedulers, as torch.optim.lr_scheduler: the same step() semantics and lr sequences.

Create the scheduler after the optimizer, then call ``optimizer.step()`` and ``scheduler.step()`` once per
step (or epoch). Constructing a scheduler already performs its step 0 (it may change ``group["lr"]``).
Unlike torch, ``step()`` takes no deprecated ``epoch`` argument and does not warn about call order.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Literal

from chainrule.optim.optimizer import Optimizer

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "LinearLR", "MultiStepLR", "OneCycleLR",
           "ReduceLROnPlateau", "StepLR"]


def __getattr__(name: str) -> Any:
    raise AttributeError(f"module 'chainrule.optim.lr_scheduler' has no attribute {name!r}: "
                         f"torch.optim.lr_scheduler.{name} is not available in chainrule (it has {', '.join(__all__)})")


def _check_optimizer(name: str, optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name}: optimizer must be a chainrule.optim.Optimizer, got {type(optimizer).__name__}")


def _check_positive_int(name: str, key: str, value: Any) -> int:
    """``value`` as a positive int; a float with a whole value (``StepLR(opt, 1.0)``, as the PyTorch transformer
    tutorial writes it, which torch takes) counts as that int."""
    whole = isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer()
    if not whole or value <= 0:
        raise ValueError(f"{name}: {key} must be a positive integer, got {value!r}")
    return int(value)


def _per_group(name: str, key: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """One value per param group: a list/tuple is checked for length, a scalar is repeated."""
    if isinstance(value, list | tuple):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name}: {key} needs one value per param group ({len(optimizer.param_groups)}), "
                             f"got {len(value)}")
        return list(value)
    return [value] * len(optimizer.param_groups)


class LRScheduler:
    """Base class: subclasses define ``get_lr()``, the lrs for ``self.last_epoch`` (torch's chainable form).

    Args:
        optimizer: the optimizer whose ``param_groups[i]["lr"]`` this scheduler sets.
        last_epoch: index of the last step taken; -1 (default) starts a fresh schedule.

    Raises:
        TypeError: optimizer is not an Optimizer.
        KeyError: last_epoch >= 0 but the groups have no "initial_lr" (the optimizer was not restored).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{name}: resuming with last_epoch={last_epoch} needs param_groups[{i}]['initial_lr']; "
                               "load the optimizer's state_dict first or start with last_epoch=-1")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for step ``self.last_epoch``, from the current ones."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self) -> None:
        """Advance the schedule by one step and write the new lrs into the optimizer's param groups."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the latest ``step()``, one per param group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, as plain numbers, strings, lists and dicts."""
        return copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "optimizer"})

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``; the optimizer must be the matching one."""
        self.__dict__.update(copy.deepcopy(state_dict))

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps.

    Args:
        optimizer: the optimizer to schedule.
        step_size: steps between decays (a positive integer).
        gamma: multiplicative decay.
        last_epoch: -1 to start fresh.

    Raises:
        ValueError: step_size is not a positive integer.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = _check_positive_int("StepLR", "step_size", step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone step (twice at a milestone listed twice).

    Args:
        optimizer: the optimizer to schedule.
        milestones: the steps at which to decay (non-negative integers, in any order: a Counter of them, as in
            torch).
        gamma: multiplicative decay.
        last_epoch: -1 to start fresh.

    Raises:
        TypeError: a milestone is not an integer.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    >>> lrs = []
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        for m in milestones:
            if isinstance(m, bool) or not isinstance(m, numbers.Integral):
                raise TypeError(f"MultiStepLR: milestones must be integers, got {type(m).__name__} {m!r}")
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        times = self.milestones.get(self.last_epoch, 0)
        if not times:
            return self._current_lrs()
        return [lr * self.gamma ** times for lr in self._current_lrs()]


class LambdaLR(LRScheduler):
    """Set each group's lr to its initial lr times ``lr_lambda(step)``.

    Args:
        optimizer: the optimizer to schedule.
        lr_lambda: a function of the step count, or a list of them, one per param group.
        last_epoch: -1 to start fresh.

    Raises:
        ValueError: a list of functions whose length is not the number of param groups.
        TypeError: an ``lr_lambda`` that is not callable.

    As in torch, ``state_dict()`` leaves the functions out (they are code, not state).

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = LambdaLR(opt, lambda step: 1 / (step + 1))
    >>> opt.step(); sched.step(); sched.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        _check_optimizer("LambdaLR", optimizer)
        groups = len(optimizer.param_groups)
        lambdas: list[Any] = list(lr_lambda) if isinstance(lr_lambda, list | tuple) else [lr_lambda] * groups
        if len(lambdas) != groups:
            raise ValueError(f"LambdaLR: expected {groups} lr_lambdas (one per param group), got {len(lambdas)}")
        for f in lambdas:
            if not callable(f):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the step, got {type(f).__name__}")
        self.lr_lambdas: list[Callable[[int], float]] = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas, strict=True)]

    def state_dict(self) -> dict[str, Any]:
        return copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")})

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``; the functions stay this scheduler's own (a torch state's entry is ignored)."""
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "lr_lambdas"})


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every step.

    Args:
        optimizer: the optimizer to schedule.
        gamma: multiplicative decay per step.
        last_epoch: -1 to start fresh.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    """Anneal the lr from its initial value to ``eta_min`` along half a cosine over ``T_max`` steps.

    After ``T_max`` steps the lr rises again (torch's recursive form, which follows a full cosine period).

    Args:
        optimizer: the optimizer to schedule.
        T_max: steps in half a period (a positive integer).
        eta_min: the smallest lr.
        last_epoch: -1 to start fresh.

    Raises:
        ValueError: T_max is not a positive integer.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = _check_positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:
            return [eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, self._current_lrs())]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - eta_min) + eta_min
                for lr in self._current_lrs()]


class LinearLR(LRScheduler):
    """Scale the lr linearly from ``start_factor`` to ``end_factor`` times its initial value over ``total_iters``.

    With the defaults this is a linear warm-up from a third of the lr to the full lr in 5 steps.

    Args:
        optimizer: the optimizer to schedule.
        start_factor: the factor at step 0, in (0, 1].
        end_factor: the factor from step ``total_iters`` on, in [0, 1].
        total_iters: steps to go from start_factor to end_factor.
        last_epoch: -1 to start fresh.

    Raises:
        ValueError: a factor is out of range.
    """

    def __init__(
        self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor + (self.last_epoch - 1) * change)
        return [lr * ratio for lr in self._current_lrs()]


class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm the lr up to ``max_lr``, then anneal it far below its start; steps once per batch.

    The lr starts at ``max_lr / div_factor``, reaches ``max_lr`` after ``pct_start`` of the steps and ends at
    ``max_lr / (div_factor * final_div_factor)``. With ``cycle_momentum`` the momentum (SGD, RMSprop) or beta1
    (Adam) moves the other way, between ``max_momentum`` and ``base_momentum``, as in torch.

    Args:
        optimizer: the optimizer to schedule.
        max_lr: the peak lr (or one per param group).
        total_steps: the number of steps; or give ``epochs`` and ``steps_per_epoch``.
        epochs: epochs to train (with steps_per_epoch).
        steps_per_epoch: steps per epoch (with epochs).
        pct_start: fraction of the steps spent increasing the lr, in [0, 1].
        anneal_strategy: "cos" or "linear".
        cycle_momentum: cycle momentum inversely to the lr.
        base_momentum: the lowest momentum (or one per group).
        max_momentum: the highest momentum (or one per group).
        div_factor: initial lr = max_lr / div_factor.
        final_div_factor: final lr = initial lr / final_div_factor.
        three_phase: use a third phase that anneals back to the initial lr before the final decay.
        last_epoch: -1 to start fresh.

    Raises:
        ValueError: the step count is missing or not positive, an option is out of range, the optimizer has no
            momentum to cycle, or ``step()`` is called more than ``total_steps`` times.
    """

    def __init__(
        self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
        epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
        anneal_strategy: Literal["cos", "linear"] = "cos", cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1,
    ) -> None:
        name = "OneCycleLR"
        _check_optimizer(name, optimizer)
        if total_steps is not None:
            self.total_steps = _check_positive_int(name, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_check_positive_int(name, "epochs", epochs)
                                * _check_positive_int(name, "steps_per_epoch", steps_per_epoch))
        else:
            raise ValueError(f"{name}: give total_steps, or epochs and steps_per_epoch; got total_steps=None, "
                             f"epochs={epochs}, steps_per_epoch={steps_per_epoch}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"{name}: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        up_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                _phase(up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                       "max_momentum"),
                _phase(self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                _phase(up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for lr, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = lr / div_factor
                group["max_lr"] = lr
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{name}: cycle_momentum=True needs an optimizer with momentum or betas, "
                                 f"got {type(optimizer).__name__}; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momenta = _per_group(name, "max_momentum", optimizer, max_momentum)
            base_momenta = _per_group(name, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for high, low, group in zip(max_momenta, base_momenta, optimizer.param_groups):
                    self._set_momentum(group, high)
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, but total_steps is {self.total_steps}; "
                             "raise total_steps (or epochs) to train longer")
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == last:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                        self._set_momentum(group, momentum)
                    break
                start_step = end_step
        return lrs


def _phase(end_step: float, start_lr: str, end_lr: str, start_momentum: str, end_momentum: str) -> dict[str, Any]:
    return {"end_step": end_step, "start_lr": start_lr, "end_lr": end_lr, "start_momentum": start_momentum,
            "end_momentum": end_momentum}


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric has stopped improving for ``patience`` steps.

    Call ``step(metric)`` once per epoch with the validation loss (mode "min") or accuracy (mode "max").

    Args:
        optimizer: the optimizer to schedule.
        mode: "min" if lower is better, "max" if higher is better.
        factor: multiplicative decay, < 1.
        patience: steps without improvement tolerated before a decay.
        threshold: how much better counts as an improvement.
        threshold_mode: "rel" (better than best * (1 -/+ threshold)) or "abs" (best -/+ threshold).
        cooldown: steps to wait after a decay before counting bad steps again.
        min_lr: the lowest lr (or one per param group).
        eps: decays smaller than this are skipped.

    Raises:
        ValueError: factor >= 1, an unknown mode or threshold_mode, or min_lr of the wrong length.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = ReduceLROnPlateau(opt, patience=1, factor=0.5)
    >>> for loss in [1.0, 1.0, 1.0]:
    ...     sched.step(loss)
    >>> sched.get_last_lr()
    [0.5]
    """

    def __init__(
        self, optimizer: Optimizer, mode: Literal["min", "max"] = "min", factor: float = 0.1, patience: int = 10,
        threshold: float = 1e-4, threshold_mode: Literal["rel", "abs"] = "rel", cooldown: int = 0,
        min_lr: float | list[float] = 0, eps: float = 1e-8,
    ) -> None:
        name = "ReduceLROnPlateau"
        if not factor < 1.0:
            raise ValueError(f"{name}: factor must be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        _check_optimizer(name, optimizer)
        self.optimizer = optimizer
        self.factor = factor
        self.default_min_lr = None if isinstance(min_lr, list | tuple) else min_lr
        self.min_lrs = _per_group(name, "min_lr", optimizer, min_lr)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Record this step's metric (a number or one-element tensor); decay the lr after a plateau."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown don't count
        if self.num_bad_epochs > self.patience:
            groups = self.optimizer.param_groups
            if len(self.min_lrs) != len(groups):
                if self.default_min_lr is None:
                    raise ValueError(f"ReduceLROnPlateau: min_lr has {len(self.min_lrs)} values but the optimizer "
                                     f"now has {len(groups)} param groups; set scheduler.min_lrs to one per group")
                self.min_lrs = [self.default_min_lr] * len(groups)
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old_lr = float(group["lr"])
                new_lr = max(old_lr * self.factor, min_lr)
                if old_lr - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _is_better(self, current: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            return current < (best * (1.0 - threshold) if self.threshold_mode == "rel" else best - threshold)
        return current > (best * (threshold + 1.0) if self.threshold_mode == "rel" else best + threshold)
