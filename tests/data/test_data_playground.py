"""TensorFlow Playground sets: shapes, balance, determinism, noise, and the geometry of dataset.ts."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_dataset, make_playground

NAMES = ["circle", "xor", "gauss", "spiral"]


@pytest.mark.parametrize("name", NAMES)
def test_shapes_labels_and_balance(name):
    ds = make_playground(name, n_samples=400, noise=0, seed=0)
    assert ds.X.shape == (400, 2) and ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    assert set(np.unique(ds.y).tolist()) == {0, 1} and ds.num_classes == 2
    share = ds.y.mean()
    assert abs(share - 0.5) < 0.06, share  # xor's labels come from uniform quadrants, the rest are exact halves
    if name != "xor":
        assert share == 0.5


@pytest.mark.parametrize("name", NAMES)
def test_seed_determinism(name):
    a, b = make_playground(name, 200, noise=20, seed=7), make_playground(name, 200, noise=20, seed=7)
    c = make_playground(name, 200, noise=20, seed=8)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


def test_seed_none_draws_from_the_library_generator():
    cr.manual_seed(3)
    a = make_playground("gauss", 50, seed=None)
    cr.manual_seed(3)
    b = make_playground("gauss", 50, seed=None)
    np.testing.assert_array_equal(a.X, b.X)


@pytest.mark.parametrize("name", ["gauss", "spiral"])
def test_noise_moves_points(name):
    clean, noisy = make_playground(name, 300, noise=0, seed=1), make_playground(name, 300, noise=40, seed=1)
    assert not np.allclose(clean.X, noisy.X)


@pytest.mark.parametrize("name", ["circle", "xor"])
def test_noise_relabels_points(name):
    # In the Playground, circle and xor points stay clean and the label is read off a noisy copy.
    clean, noisy = make_playground(name, 500, noise=0, seed=1), make_playground(name, 500, noise=50, seed=1)
    flipped = (clean.y != noisy.y).mean()
    assert 0.05 < flipped < 0.5


def test_circle_geometry():
    ds = make_playground("circle", 1000, noise=0, seed=0)
    r = np.hypot(ds.X[:, 0], ds.X[:, 1])
    assert r[ds.y == 1].max() < 2.5  # radius 5 * 0.5
    assert r[ds.y == 0].min() >= 3.5 and r[ds.y == 0].max() <= 5.0  # between 5 * 0.7 and 5


def test_xor_geometry():
    ds = make_playground("xor", 1000, noise=0, seed=0)
    x, y = ds.X[:, 0], ds.X[:, 1]
    assert np.abs(ds.X).min() >= 0.3 - 1e-6 and np.abs(ds.X).max() <= 5.3 + 1e-6  # padding 0.3 off the axes
    np.testing.assert_array_equal(ds.y, (x * y >= 0).astype(int))


@pytest.mark.parametrize(("noise", "variance"), [(0, 0.5), (50, 4.0), (25, 2.25)])
def test_gauss_centers_and_variance(noise, variance):
    ds = make_playground("gauss", 4000, noise=noise, seed=0)
    for label, center in ((1, 2.0), (0, -2.0)):
        points = ds.X[ds.y == label].astype(np.float64)
        np.testing.assert_allclose(points.mean(0), center, atol=0.15)
        np.testing.assert_allclose(points.var(0), variance, rtol=0.1)


def test_spiral_geometry():
    n = 200
    ds = make_playground("spiral", n, noise=0, seed=0)
    half = n // 2
    i = np.arange(half)
    r, t = i / half * 5, 1.75 * i / half * 2 * np.pi
    positive, negative = ds.X[ds.y == 1], ds.X[ds.y == 0]
    np.testing.assert_allclose(positive, np.stack([r * np.sin(t), r * np.cos(t)], 1), atol=1e-5)
    np.testing.assert_allclose(negative, -positive, atol=1e-5)  # the second arm is turned by pi


def test_train_ratio_splits_and_held_out_halves():
    splits = load_dataset("spiral", n_samples=500, noise=10, train_ratio=80, seed=0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (400, 50, 50)
    assert splits.standardizer is None


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"noise": 60}, r"noise is a percentage in 0..50 .*got 60"),
    ({"noise": -1}, r"noise is a percentage in 0..50 .*got -1"),
    ({"n_samples": 1}, "n_samples must be an int >= 2, got 1"),
    ({"train_ratio": 95}, r"train_ratio is a percentage in 10..90 .*got 95"),
])
def test_option_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_dataset("circle", **kwargs)


def test_unknown_generator():
    with pytest.raises(ValueError, match=r"make_playground: expected one of \['circle', 'gauss', 'spiral', 'xor'\]"):
        make_playground("moons")
