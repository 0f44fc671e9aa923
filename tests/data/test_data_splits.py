"""train_val_test_split, Standardizer, standardize and validate."""

import numpy as np
import pytest

from chainrule.data import (
    DataLoader,
    Dataset,
    Splits,
    Standardizer,
    standardize,
    train_val_test_split,
    validate,
    validate_dataset,
)


def labelled(n=200, proportions=(0.5, 0.3, 0.2), features=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(proportions)), [int(p * n) for p in proportions])
    X = rng.normal(size=(len(y), features)) + y[:, None]
    X[:, 0] = np.arange(len(y))  # column 0 identifies the row, to check overlaps
    return Dataset(X, y, name="labelled")


def ids(ds):
    return set(ds.X[:, 0].astype(int).tolist())


def test_split_sizes_no_overlap_and_stratified_proportions():
    ds = labelled()
    splits = train_val_test_split(ds, val=0.15, test=0.15, seed=0)
    train, val, test = splits
    assert (len(train), len(val), len(test)) == (140, 30, 30)
    assert not (ids(train) & ids(val)) and not (ids(train) & ids(test)) and not (ids(val) & ids(test))
    assert ids(train) | ids(val) | ids(test) == set(range(200))
    whole = np.bincount(ds.y) / len(ds)
    for part in splits:
        np.testing.assert_allclose(np.bincount(part.y) / len(part), whole, atol=1 / len(part))
    # Each split keeps the rows' labels.
    for part in splits:
        np.testing.assert_array_equal(part.y, ds.y[part.X[:, 0].astype(int)])


def test_unstratified_split_from_arrays_and_seed_determinism():
    ds = labelled()
    a = train_val_test_split(ds.X, ds.y, val=0.1, test=0.2, seed=4, stratify=False)
    b = train_val_test_split(ds.X, ds.y, val=0.1, test=0.2, seed=4, stratify=False)
    c = train_val_test_split(ds.X, ds.y, val=0.1, test=0.2, seed=5, stratify=False)
    assert (len(a.train), len(a.val), len(a.test)) == (140, 20, 40)
    np.testing.assert_array_equal(a.test.X, b.test.X)
    assert ids(a.test) != ids(c.test)


def test_zero_fraction_gives_none_and_regression_split():
    rng = np.random.default_rng(0)
    reg = Dataset(rng.normal(size=(50, 2)), rng.normal(size=50))
    train, val, test = train_val_test_split(reg, val=0.2, test=0.0)
    assert test is None and (len(train), len(val)) == (40, 10) and train.task == "regression"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"val": 1.2}, r"val must be a fraction in \[0, 1\), got 1.2"),
    ({"test": -0.1}, r"test must be a fraction in \[0, 1\), got -0.1"),
    ({"val": 0.5, "test": 0.5}, "val \\+ test must leave samples to train on"),
])
def test_split_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_val_test_split(labelled(), **kwargs)


def test_split_too_few_samples():
    with pytest.raises(ValueError, match="2 samples of 'dataset' are too few"):
        train_val_test_split(np.zeros((2, 1)), np.array([0, 1]), val=0.3, test=0.3)


def test_standardizer_uses_training_statistics_only():
    rng = np.random.default_rng(1)
    train = Dataset(rng.normal(3.0, 2.0, size=(500, 2)), rng.integers(0, 2, 500))
    val = Dataset(rng.normal(-5.0, 0.5, size=(100, 2)), rng.integers(0, 2, 100))
    scaler = Standardizer().fit(train)
    out_train, out_val = scaler.transform(train), scaler.transform(val)
    np.testing.assert_allclose(out_train.X.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out_train.X.std(0), 1, atol=1e-5)
    # Val is mapped with the training mean/std, so its own statistics stay visible (no leak).
    expected = (val.X - train.X.mean(0)) / train.X.std(0)
    np.testing.assert_allclose(out_val.X, expected, rtol=1e-4, atol=1e-5)
    assert out_val.X.mean() < -3.0
    np.testing.assert_array_equal(out_val.y, val.y)


def test_standardize_splits_is_unchanged_by_val_and_test_data():
    ds = labelled()
    splits = train_val_test_split(ds, seed=0)
    changed_val = Splits(splits.train, splits.val.with_arrays(splits.val.X * 100 + 7, splits.val.y), splits.test)
    a, b = standardize(splits), standardize(changed_val)
    np.testing.assert_array_equal(a.standardizer.mean, b.standardizer.mean)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    np.testing.assert_allclose(a.standardizer.mean, splits.train.X.mean(0), rtol=1e-5)


def test_standardizer_zero_variance_feature_is_finite():
    X = np.array([[1.0, 4.0], [3.0, 4.0], [5.0, 4.0]])
    out = Standardizer().fit_transform(X)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[:, 1], 0.0)


def test_standardizer_errors():
    with pytest.raises(ValueError, match="call fit\\(train\\) first"):
        Standardizer().transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="expected 2 features \\(as in fit\\), got 3"):
        Standardizer().fit(np.zeros((2, 2))).transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected at least one training sample"):
        Standardizer().fit(np.zeros((0, 2)))


def features_with(bad_rows, value, names=None):
    X = np.ones((6, 3))
    for row, col in bad_rows:
        X[row, col] = value
    return Dataset(X, [0, 1, 0, 1, 0, 1], name="bad", feature_names=names)


@pytest.mark.parametrize(("dataset", "kwargs", "match"), [
    (features_with([(2, 1), (4, 0)], np.nan), {}, r"2 non-finite feature value\(s\).* first is nan at row 2, column 1"),
    (features_with([(5, 2)], np.inf, ["a", "b", "c"]), {}, r"1 non-finite .* first is inf at row 5, column 2 \('c'\)"),
    (Dataset(np.zeros((0, 2)), np.zeros(0, dtype=int), name="e"), {}, r"dataset 'e' is empty \(0 samples\)"),
    (features_with([], 0), {"num_features": 4}, "has 3 features per sample but the model expects in_features=4"),
    (Dataset(np.zeros((3, 1)), [0, 1, 5]), {"num_classes": 3}, r"labels in 0..2 .* first is 5 at row 2"),
    (Dataset(np.zeros((3, 1)), [0, -1, 1]), {}, r"labels in 0..1 .* out of range; the first is -1 at row 1"),
    (Dataset(np.zeros((3, 1)), [0.0, 1.5, 1.0]), {"num_classes": 2}, r"expected integer class labels .* 1.5 at row 1"),
    (Dataset(np.zeros((3, 1)), [0.0, np.nan, 1.0]), {}, r"1 non-finite target\(s\) .* at row 1"),
])
def test_validate_errors(dataset, kwargs, match):
    with pytest.raises(ValueError, match=match):
        validate(dataset, **kwargs)


def test_validate_accepts_good_data_and_checks_every_split():
    splits = train_val_test_split(labelled(), seed=0)
    assert validate_dataset(splits, num_features=3, num_classes=3) is splits
    assert validate(DataLoader(splits.train), num_features=3) is not None
    empty_val = Splits(splits.train, splits.train.subset([]), splits.test)
    with pytest.raises(ValueError, match=r"is empty .*\[val split\]"):
        validate(empty_val)
    with pytest.raises(TypeError, match="validate: expected a Dataset, Splits or DataLoader, got ndarray"):
        validate(np.zeros((2, 2)))


def test_stratified_split_keeps_samples_with_out_of_range_labels():
    # The split must not drop a bad sample silently: validate() has to see it and name it.
    data = Dataset(np.arange(40.0).reshape(20, 2), [0, 1] * 9 + [-1, 1])
    splits = train_val_test_split(data, seed=0)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 20
    with pytest.raises(ValueError, match=r"labels in 0..1 .* the first is -1"):
        validate(splits)
