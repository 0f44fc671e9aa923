"""Dataset and DataLoader: construction, batching, drop_last, seeded shuffling, argument errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, TensorDataset


def make(n=10, features=3, classes=2):
    X = np.arange(n * features, dtype=np.float64).reshape(n, features)
    return Dataset(X, np.arange(n) % classes, name="toy")


def test_dataset_arrays_types_and_metadata():
    ds = make()
    assert ds.X.dtype == np.float32 and ds.X.shape == (10, 3)
    assert ds.y.dtype == np.int64 and ds.num_classes == 2 and ds.num_features == 3 and len(ds) == 10
    assert ds.task == "classification"
    x, y = ds[3]
    np.testing.assert_array_equal(x, [9, 10, 11])
    assert y == 1
    regression = Dataset(np.zeros((4, 2)), np.linspace(0, 1, 4))
    assert regression.num_classes is None and regression.y.dtype == np.float32 and regression.task == "regression"


def test_dataset_is_read_only_and_leaves_the_callers_array_writable():
    X = np.zeros((3, 2), dtype=np.float32)
    ds = Dataset(X, [0, 1, 0])
    with pytest.raises(ValueError, match="read-only"):
        ds.X[0, 0] = 1.0
    X[0, 0] = 2.0  # the caller's own array stays theirs to edit
    assert X.flags.writeable


def test_tensor_dataset_from_tensors_and_num_classes_override():
    ds = TensorDataset(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), cr.tensor([0.0, 1.0]), num_classes=3)
    assert isinstance(ds, Dataset) and ds.y.dtype == np.int64 and ds.num_classes == 3
    assert ds.subset([1]).num_classes == 3


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [
        (np.zeros(5), np.zeros(5), {}, r"expected X of shape \(samples, features\), got shape \(5,\)"),
        (np.zeros((5, 2)), np.zeros(4, dtype=int), {}, r"one label per sample \(5\), got labels of shape \(4,\)"),
        (np.zeros((2, 2)), [0.5, 1.0], {"num_classes": 2}, "num_classes=2 needs integer class labels"),
        (np.zeros((2, 2)), [0, 1], {"feature_names": ["a"]}, "expected 2 feature_names"),
        (np.array([["a", "b"]]), [0], {}, "expected numeric features, got dtype <U1"),
    ],
)
def test_dataset_errors(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Dataset(X, y, **kwargs)


@pytest.mark.parametrize(("n", "batch", "drop_last", "sizes"), [
    (10, 4, False, [4, 4, 2]), (10, 4, True, [4, 4]), (8, 4, True, [4, 4]), (3, 5, False, [3]),
    (10, 1, False, [1] * 10),
])
def test_batching_and_len(n, batch, drop_last, sizes):
    loader = DataLoader(make(n), batch_size=batch, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) == len(batches)
    assert [len(xb) for xb, _ in batches] == sizes
    for xb, yb in batches:
        assert xb.flags.c_contiguous and yb.flags.c_contiguous and xb.dtype == np.float32 and len(xb) == len(yb)
    # Without shuffling the batches are the data in order.
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]), make(n).X[: sum(sizes)])


def test_shuffle_visits_every_sample_once_per_epoch_and_keeps_pairs():
    ds = make(50)
    loader = DataLoader(ds, batch_size=8, shuffle=True, seed=3)
    orders = []
    for _ in range(3):
        xs, ys = zip(*loader)
        X, y = np.concatenate(xs), np.concatenate(ys)
        rows = (X[:, 0] / 3).astype(int)  # row i starts with 3 * i
        assert sorted(rows.tolist()) == list(range(50))
        np.testing.assert_array_equal(y, rows % 2)  # each label still travels with its features
        orders.append(rows)
    assert not np.array_equal(orders[0], orders[1])  # a new order every epoch
    assert not np.array_equal(orders[0], np.arange(50))


def test_seeded_shuffle_is_reproducible_across_loaders():
    ds = make(30)

    def two_epochs(seed):
        loader = DataLoader(ds, 7, shuffle=True, seed=seed)
        return [xb[:, 0].tolist() for _ in range(2) for xb, _ in loader]

    assert two_epochs(11) == two_epochs(11)
    assert two_epochs(11) != two_epochs(12)


def test_unseeded_shuffle_follows_manual_seed():
    ds = make(30)
    cr.manual_seed(5)
    first = [xb[:, 0].tolist() for xb, _ in DataLoader(ds, 10, shuffle=True)]
    cr.manual_seed(5)
    again = [xb[:, 0].tolist() for xb, _ in DataLoader(ds, 10, shuffle=True)]
    assert first == again


def test_batches_are_read_only():
    xb, _ = next(iter(DataLoader(make(), batch_size=4, shuffle=True, seed=0)))
    with pytest.raises(ValueError, match="read-only"):
        xb += 1


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"batch_size": 0}, ValueError, "batch_size must be a positive int, got 0"),
    ({"batch_size": 2.5}, ValueError, "batch_size must be a positive int, got 2.5"),
    ({"batch_size": True}, ValueError, "batch_size must be a positive int, got True"),
    ({"shuffle": "yes"}, TypeError, "shuffle must be True or False, got 'yes'"),
    ({"drop_last": 1}, TypeError, "drop_last must be True or False, got 1"),
    ({"seed": -1}, ValueError, "seed must be None or a non-negative int, got -1"),
    ({"batch_size": 11, "drop_last": True}, ValueError, "batch_size=11 larger than the 10 samples"),
])
def test_loader_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(make(10), **kwargs)


def test_loader_rejects_non_dataset_and_empty_dataset():
    with pytest.raises(TypeError, match=r"DataLoader: expected a chainrule\.data\.Dataset .* got ndarray"):
        DataLoader(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="dataset 'empty' is empty"):
        DataLoader(Dataset(np.zeros((0, 2)), np.zeros(0, dtype=int), name="empty"))


def test_shuffled_batches_gather_rows_in_the_seeded_permutation_order():
    ds = make(10)
    batches = list(DataLoader(ds, batch_size=4, shuffle=True, seed=3))
    order = np.random.default_rng(3).permutation(10)
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    for (xb, yb), start in zip(batches, (0, 4, 8), strict=True):
        np.testing.assert_array_equal(xb, ds.X[order[start:start + 4]])
        np.testing.assert_array_equal(yb, ds.y[order[start:start + 4]])
