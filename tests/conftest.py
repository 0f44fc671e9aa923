"""Shared by every test: each starts from the same random state and leaves no engine state behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from threadpoolctl import threadpool_limits

import chainrule as cr
from chainrule.engine import autograd

# pytest runs one worker per core (-n 2): a BLAS or torch thread pool per worker on top oversubscribes the
# cores, and spinning BLAS threads then make small matmuls 50-100x slower. One thread each is fastest here.
threadpool_limits(limits=1)
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def fresh_engine_state() -> Iterator[None]:
    """Seed the library's generator, then check that the test left grad mode and op hooks as it found them.

    A forgotten op hook would watch (and slow) every later test, so it fails the test that left it.
    """
    cr.manual_seed(0)
    yield
    leaked = list(autograd._op_hooks)
    grad_mode_left_off = not autograd.is_grad_enabled()
    autograd._op_hooks.clear()
    autograd._grad_enabled = True
    if leaked:
        pytest.fail(f"the test left {len(leaked)} op hook(s) registered: {leaked}; call handle.remove()")
    if grad_mode_left_off:
        pytest.fail("the test left grad mode off: use `with cr.no_grad():` rather than switching it by hand")
