"""Constructor argument checks shared by the layers: each quotes the bad value and names the layer."""

from __future__ import annotations

import numbers
from typing import Any


def positive_int(value: Any, name: str, where: str) -> int:
    """``value`` as an int, or a ValueError like ``Linear: in_features must be a positive int, got -3``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive int, got {value!r}")
    return int(value)


def real(value: Any, name: str, where: str, low: float | None = None, high: float | None = None) -> float:
    """``value`` as a float, or a ValueError quoting it unless it is a real number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise ValueError(f"{where}: {name} must be a real number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):  # type: ignore[operator]  # numbers.Real's stub has only < and <=
        interval = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{where}: {name} must be in {interval}, got {value!r}")
    return float(value)


def flag(value: Any, name: str, where: str) -> bool:
    """``value`` if it is a bool, else a TypeError quoting it."""
    if not isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
    return value


def integer(value: Any, name: str, where: str) -> int:
    """``value`` if it is an int (bools excluded), else a TypeError quoting it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an int, got {value!r}")
    return int(value)
