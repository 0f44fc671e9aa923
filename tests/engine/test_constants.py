"""dtypes.constant: a typed 0-d array gives, in a ufunc with an array of its dtype, exactly what the Python number
gives (the reference is NumPy itself with the Python number), so optimizers and ops may use it for speed."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.engine.dtypes import constant

VALUES = [0.03, -0.03, 1e-8, 0.999, 1.0 - 0.999, 1 / 3, 123456.789, 7e-46, -1e-300, 2.0, 0.0, -0.0]
UFUNCS = [np.multiply, np.add, np.subtract, np.divide, np.maximum, np.greater]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("ufunc", UFUNCS, ids=lambda u: u.__name__)
def test_constant_gives_what_the_python_number_gives(dtype: type, ufunc: np.ufunc) -> None:
    array = np.random.default_rng(0).standard_normal(64).astype(dtype) * np.array(10, dtype)
    array[:4] = [0.0, -0.0, np.inf, np.nan]
    with np.errstate(all="ignore"):
        for value in VALUES:
            want = ufunc(array, value)
            got = ufunc(array, constant(value, np.dtype(dtype)))
            assert got.dtype == want.dtype, (value, got.dtype, want.dtype)
            np.testing.assert_array_equal(got, want, err_msg=f"{ufunc.__name__}(array, {value!r})")
            assert np.array_equal(np.signbit(got), np.signbit(want)), f"sign of zero: {ufunc.__name__}, {value!r}"


def test_constant_is_read_only_and_zero_keeps_its_sign() -> None:
    one = constant(0.5, np.dtype(np.float32))
    assert one.shape == () and one.dtype == np.float32 and not one.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        one[...] = 2
    assert constant(0.5, np.dtype(np.float32)) is one  # kept for reuse
    assert np.signbit(constant(-0.0, np.dtype(np.float64))) and not np.signbit(constant(0.0, np.dtype(np.float64)))
