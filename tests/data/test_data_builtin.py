"""scikit-learn sets, MNIST-1D (small n, cached as .npz) and the load_dataset registry."""

import random

import numpy as np
import pytest
from sklearn import datasets as sk

from chainrule.data import available_datasets, builtin, load_dataset, load_mnist1d, load_sklearn


@pytest.mark.parametrize(("name", "samples", "features", "classes"), [
    ("digits", 1797, 64, 10), ("iris", 150, 4, 3), ("wine", 178, 13, 3), ("breast_cancer", 569, 30, 2),
])
def test_sklearn_sets(name, samples, features, classes):
    raw = load_sklearn(name)
    reference = getattr(sk, f"load_{name}")()
    np.testing.assert_allclose(raw.X, reference.data.astype(np.float32))
    np.testing.assert_array_equal(raw.y, reference.target)
    assert (raw.num_features, raw.num_classes, len(raw.feature_names)) == (features, classes, features)
    splits = load_dataset(name)
    assert sum(len(part) for part in splits) == samples
    assert splits.num_features == features and splits.num_classes == classes
    assert all(np.bincount(part.y, minlength=classes).min() > 0 for part in splits)
    np.testing.assert_allclose(splits.train.X.mean(0), 0, atol=1e-4)  # standardized on train by default
    assert np.all(np.isfinite(splits.val.X))  # digits has constant pixels: scale 1, not NaN


def test_mnist1d_small_generates_caches_and_reuses(tmp_path, monkeypatch):
    monkeypatch.setattr("mnist1d.data.get_dataset", lambda *a, **k: pytest.fail("get_dataset may download"))
    np.random.seed(123)
    random.seed(123)
    before = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    train, test = load_mnist1d(n_train=80, n_test=20, cache_dir=tmp_path)
    assert (np.random.rand(), random.random()) == before  # the global generators were given back
    assert train.X.shape == (80, 40) and test.X.shape == (20, 40) and train.num_classes == 10
    assert train.X.dtype == np.float32 and set(np.unique(np.concatenate([train.y, test.y]))) == set(range(10))
    cache = tmp_path / "mnist1d_80_20.npz"
    with np.load(cache, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["x"], train.X)
    assert [p.name for p in tmp_path.iterdir()] == [cache.name]  # no temporary file left behind

    monkeypatch.setattr(builtin, "_generate_mnist1d", lambda *a: pytest.fail("cache was not used"))
    again, _ = load_mnist1d(n_train=80, n_test=20, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.X, train.X)


def test_mnist1d_matches_the_package_generator(tmp_path):
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split = 100, 0.8
    reference = make_dataset(args)
    splits = load_dataset("mnist1d", n_train=80, n_test=20, val=0.25, cache=False)
    np.testing.assert_allclose(splits.test.X, reference["x_test"], rtol=1e-6)
    np.testing.assert_array_equal(splits.test.y, reference["y_test"])
    assert (len(splits.train), len(splits.val)) == (60, 20)
    rows = {row.tobytes() for row in reference["x"].astype(np.float32)}
    assert all(row.tobytes() in rows for part in (splits.train, splits.val) for row in part.X)
    assert not list(tmp_path.iterdir())


def test_mnist1d_damaged_cache_is_rebuilt(tmp_path):
    (tmp_path / "mnist1d_10_10.npz").write_bytes(b"not an npz")
    train, _ = load_mnist1d(n_train=10, n_test=10, cache_dir=tmp_path)
    assert train.X.shape == (10, 40)
    with np.load(tmp_path / "mnist1d_10_10.npz") as archive:
        assert archive["x"].shape == (10, 40)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_train": 85, "n_test": 20}, r"multiple of 10 .* got 85 \+ 20 = 105"),
    ({"n_train": 0}, "n_train must be a positive int, got 0"),
])
def test_mnist1d_size_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_mnist1d(cache=False, **kwargs)


def test_registry_lists_every_dataset_with_a_description():
    names = available_datasets()
    assert set(names) == {"circle", "xor", "gauss", "spiral", "digits", "iris", "wine", "breast_cancer",
                          "mnist1d", "mnist", "fashion_mnist"}
    assert all(isinstance(text, str) and len(text) > 20 for text in names.values())


def test_registry_errors():
    with pytest.raises(ValueError, match=r"unknown dataset 'spirals' \(did you mean 'spiral'\?\); expected one of"):
        load_dataset("spirals")
    with pytest.raises(TypeError, match=r"load_dataset\('iris'\): unknown option\(s\) noise; expected some of val"):
        load_dataset("iris", noise=10)
    with pytest.raises(ValueError, match=r"mnist: expected path=FOLDER"):
        load_dataset("mnist")
