"""``torch.cuda`` as chainrule answers it: there is no GPU here, so ``is_available()`` is False.

Course code writes ``device = "cuda" if torch.cuda.is_available() else "cpu"``; with this it picks the CPU.
Anything that would need a GPU says chainrule runs on the CPU only.
"""

from __future__ import annotations


def is_available() -> bool:
    """False: chainrule computes with NumPy on the CPU."""
    return False


def device_count() -> int:
    """0: no GPU is used."""
    return 0


def manual_seed(seed: int) -> None:
    """Seeds nothing (there is no GPU generator); kept so that seeding code written for GPUs runs."""


def manual_seed_all(seed: int) -> None:
    """Seeds nothing, as :func:`manual_seed`."""
