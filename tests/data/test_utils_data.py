"""chainrule.utils.data against torch.utils.data: datasets, collation, batching, samplers, splits, errors."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import chainrule as cr
from chainrule.engine.random import Generator
from chainrule.utils import data as ud

X = np.arange(30, dtype=np.float32).reshape(10, 3)
Y = np.arange(10) % 3
Point = namedtuple("Point", ["x", "label"])


def same(ours, theirs):
    """A chainrule batch equals a torch batch: same structure, Tensors of the same values, dtypes and shapes."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, cr.Tensor), f"expected a Tensor, got {type(ours).__name__}"
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            same(ours[k], theirs[k])
    elif isinstance(theirs, list | tuple):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            same(a, b)
    else:
        assert ours == theirs


class Samples(ud.Dataset):
    """A map-style dataset of mixed Python and NumPy samples, one class for both libraries' loaders."""

    def __init__(self, kind):
        self.kind = kind

    def __len__(self):
        return 7

    def __getitem__(self, i):
        if self.kind == "tuple":
            return i, float(i) / 2, i % 2 == 0, np.full(2, i, np.float32), f"s{i}"
        if self.kind == "dict":
            return {"x": np.float64(i), "y": [i, i + 1], "name": "n"}
        return Point(np.int32(i), np.array([i, -i]))


class TorchSamples(tud.Dataset):
    def __init__(self, kind):
        self.inner = Samples(kind)

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        return self.inner[i]


@pytest.mark.parametrize("kind", ["tuple", "dict", "namedtuple"])
@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (7, False), (1, False)])
def test_batches_are_collated_as_torch(kind, batch_size, drop_last):
    ours = list(ud.DataLoader(Samples(kind), batch_size=batch_size, drop_last=drop_last))
    theirs = list(tud.DataLoader(TorchSamples(kind), batch_size=batch_size, drop_last=drop_last))
    assert len(ours) == len(theirs) == len(ud.DataLoader(Samples(kind), batch_size=batch_size, drop_last=drop_last))
    for a, b in zip(ours, theirs, strict=True):
        same(a, b)


def test_tensor_dataset_items_and_batches_match_torch():
    ours = ud.TensorDataset(cr.tensor(X), cr.tensor(Y))
    theirs = tud.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))
    assert len(ours) == 10
    item = ours[4]
    assert isinstance(item, tuple) and all(isinstance(t, cr.Tensor) for t in item)
    same(item, theirs[4])
    for a, b in zip(ud.DataLoader(ours, batch_size=4), tud.DataLoader(theirs, batch_size=4), strict=True):
        same(a, b)
    xb, _ = next(iter(ud.DataLoader(ours, batch_size=4)))
    xb += 1  # a batch is a new tensor of its own: the dataset is untouched
    np.testing.assert_array_equal(ours.tensors[0].numpy(), X)


def test_shuffle_uses_the_generator_and_visits_every_sample_once():
    ds = ud.TensorDataset(cr.tensor(X), cr.tensor(Y))

    def epoch(loader):
        return np.concatenate([xb.numpy()[:, 0] for xb, _ in loader]) / 3

    a = ud.DataLoader(ds, batch_size=3, shuffle=True, generator=Generator().manual_seed(7))
    b = ud.DataLoader(ds, batch_size=3, shuffle=True, generator=Generator().manual_seed(7))
    first, again = epoch(a), epoch(b)
    np.testing.assert_array_equal(first, again)
    assert sorted(first.astype(int).tolist()) == list(range(10)) and not np.array_equal(first, np.arange(10))
    assert not np.array_equal(epoch(a), first)  # a new order every epoch
    cr.manual_seed(3)
    unseeded = epoch(ud.DataLoader(ds, batch_size=3, shuffle=True))
    cr.manual_seed(3)
    np.testing.assert_array_equal(epoch(ud.DataLoader(ds, batch_size=3, shuffle=True)), unseeded)


def test_labels_travel_with_their_features_when_shuffled():
    ds = ud.TensorDataset(cr.tensor(X), cr.tensor(Y))
    for xb, yb in ud.DataLoader(ds, batch_size=4, shuffle=True, generator=Generator().manual_seed(1)):
        np.testing.assert_array_equal(yb.numpy(), (xb.numpy()[:, 0] / 3).astype(int) % 3)


def test_samplers_batch_sampler_batch_size_none_and_workers():
    ds = ud.TensorDataset(cr.tensor(X), cr.tensor(Y))
    batches = list(ud.DataLoader(ds, sampler=[9, 0, 5], batch_size=2))
    assert [yb.tolist() for _, yb in batches] == [[0, 0], [2]]
    batches = list(ud.DataLoader(ds, batch_sampler=[[1, 2], [3]]))
    assert [yb.tolist() for _, yb in batches] == [[1, 2], [0]]
    singles = list(ud.DataLoader(Samples("dict"), batch_size=None))
    torch_singles = list(tud.DataLoader(TorchSamples("dict"), batch_size=None))
    for a, b in zip(singles, torch_singles, strict=True):
        same(a, b)
    parallel = ud.DataLoader(ds, batch_size=4, num_workers=2, pin_memory=True, persistent_workers=True)
    for a, b in zip(parallel, ud.DataLoader(ds, batch_size=4), strict=True):
        same(a, [torch.from_numpy(t.numpy()) for t in b])
    assert ud.get_worker_info() is None
    sampler = ud.RandomSampler(ds, replacement=True, num_samples=25, generator=Generator().manual_seed(0))
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == 25 and min(drawn) >= 0 and max(drawn) < 10
    assert list(ud.BatchSampler(ud.SequentialSampler(range(5)), 2, drop_last=True)) == [[0, 1], [2, 3]]
    assert sorted(ud.SubsetRandomSampler([4, 7, 9])) == [4, 7, 9]


def test_collate_fn_and_chainrule_data_datasets():
    ds = ud.TensorDataset(cr.tensor(X), cr.tensor(Y))
    seen = []
    loader = ud.DataLoader(ds, batch_size=5, collate_fn=lambda samples: seen.append(len(samples)) or len(samples))
    assert list(loader) == [5, 5] and seen == [5, 5]
    arrays = cr.data.Dataset(X, Y)  # chainrule's own (X, y) dataset is map-style too: batches become Tensors
    for a, b in zip(ud.DataLoader(arrays, batch_size=4), tud.DataLoader(TorchSamples("tuple"), batch_size=1)):
        xb, yb = a
        assert isinstance(xb, cr.Tensor) and xb.dtype == np.float32 and yb.dtype == np.int64
        assert isinstance(b, list)
    shuffled = ud.DataLoader(arrays, batch_size=3, shuffle=True, generator=Generator().manual_seed(2))
    assert sorted(np.concatenate([yb.numpy() for _, yb in shuffled]).tolist()) == sorted(Y.tolist())


def test_random_split_lengths_and_subsets_match_torch():
    ds = ud.TensorDataset(cr.tensor(X), cr.tensor(Y))
    for lengths in ([7, 3], [0.5, 0.3, 0.2], [0.34, 0.33, 0.33], [10, 0]):
        ours = ud.random_split(ds, lengths, generator=Generator().manual_seed(0))
        theirs = tud.random_split(range(10), lengths, generator=torch.Generator().manual_seed(0))
        assert [len(s) for s in ours] == [len(s) for s in theirs]
    parts = ud.random_split(ds, [6, 4], generator=Generator().manual_seed(4))
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    x, y = parts[1][0]
    assert x.tolist() == X[parts[1].indices[0]].tolist() and y.item() == Y[parts[1].indices[0]]
    with pytest.raises(ValueError, match=r"random_split: sum of input lengths \(9\) does not equal the length of "
                                         r"the input dataset \(10\)"):
        ud.random_split(ds, [5, 4])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        ud.random_split(ds, [1.0, 0.0])


def test_concat_and_subset():
    a, b = Samples("dict"), ud.TensorDataset(cr.tensor(X), cr.tensor(Y))
    both = a + ud.Subset(b, [9, 8])
    assert isinstance(both, ud.ConcatDataset) and len(both) == 9
    assert both[6]["x"] == 6.0 and both[7][1].item() == Y[9] and both[-1][1].item() == Y[8]
    with pytest.raises(IndexError, match=r"ConcatDataset: index 9 is out of range for 9 items"):
        both[9]


def test_iterable_dataset_is_batched_in_order():
    class Stream(ud.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    loader = ud.DataLoader(Stream(), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    assert [b.tolist() for b in ud.DataLoader(Stream(), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match=r"DataLoader with IterableDataset: expected unspecified shuffle option"):
        ud.DataLoader(Stream(), shuffle=True)


BAD = [
    (lambda ds: ud.DataLoader(ds, batch_size=0), ValueError, r"batch_size should be a positive integer value"),
    (lambda ds: ud.DataLoader(ds, sampler=[0], shuffle=True), ValueError,
     r"sampler option is mutually exclusive with shuffle"),
    (lambda ds: ud.DataLoader(ds, batch_sampler=[[0]], batch_size=2), ValueError,
     r"batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"),
    (lambda ds: ud.DataLoader(ds, num_workers=-1), ValueError, r"num_workers option should be non-negative"),
    (lambda ds: ud.DataLoader(ds, persistent_workers=True), ValueError, r"persistent_workers option needs"),
    (lambda ds: ud.DataLoader(ds, prefetch_factor=2), ValueError, r"prefetch_factor option could only be specified"),
    (lambda ds: ud.DataLoader(ds, batch_size=None, drop_last=True), ValueError, r"mutually exclusive with drop_last"),
    (lambda ds: ud.DataLoader(3), TypeError, r"DataLoader: dataset must be a map-style dataset .* got int"),
    (lambda ds: ud.TensorDataset(cr.zeros(3), cr.zeros(4)), ValueError,
     r"TensorDataset: size mismatch between tensors: .* got \[3, 4\]"),
    (lambda ds: ud.TensorDataset(np.zeros(3)), TypeError, r"TensorDataset: argument 0 must be a Tensor"),
    (lambda ds: ud.default_collate([object()]), TypeError, r"default_collate: batch must contain tensors"),
    (lambda ds: ud.default_collate([[1, 2], [3]]), RuntimeError, r"each element in list of batch should be of equal"),
    (lambda ds: ud.RandomSampler(ds, num_samples=0), ValueError, r"num_samples should be a positive integer value"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_arguments_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call(ud.TensorDataset(cr.tensor(X)))


# ---------------------------------------------------------------------------- WeightedRandomSampler

def test_weighted_sampler_draws_in_proportion_to_the_weights():
    """The imbalanced-classes recipe: weight each sample by 1 / its class's count. 20,000 draws are tested against
    the weights' own proportions with a chi-square test, and classes come out balanced."""
    from scipy import stats

    labels = np.array([0] * 90 + [1] * 10)
    weights = 1.0 / np.bincount(labels)[labels]
    sampler = ud.WeightedRandomSampler(cr.tensor(weights), 20_000, generator=Generator().manual_seed(0))
    drawn = np.array(list(sampler))
    assert len(sampler) == drawn.size == 20_000
    counts = np.bincount(drawn, minlength=100)
    expected = 20_000 * weights / weights.sum()
    assert stats.chisquare(counts, expected).pvalue > 1e-3
    assert abs(np.mean(labels[drawn]) - 0.5) < 0.02  # balanced
    again = list(ud.WeightedRandomSampler(weights.tolist(), 20_000, generator=Generator().manual_seed(0)))
    assert again == drawn.tolist()  # a seeded generator gives the same draws


def test_weighted_sampler_without_replacement_never_repeats_and_draws_zero_weights_last():
    sampler = ud.WeightedRandomSampler([1.0, 0.0, 2.0, 3.0], 3, replacement=False,
                                       generator=Generator().manual_seed(1))
    assert sorted(sampler) == [0, 2, 3]
    for weighted in (tud.WeightedRandomSampler([1.0, 0.0, 0.0], 3, replacement=False),
                     ud.WeightedRandomSampler([1.0, 0.0, 0.0], 3, replacement=False)):
        assert list(weighted) == [0, 1, 2]  # as torch.multinomial: the zero-weight ones after, in index order
    loader = ud.DataLoader(ud.TensorDataset(cr.arange(4)), batch_size=2, sampler=sampler)
    assert sorted(int(v) for (batch,) in loader for v in batch) == [0, 2, 3]


@pytest.mark.parametrize(("args", "kwargs"), [
    (([1.0, 2.0], 0), {}),  # num_samples not positive: ValueError
    (([1.0, 2.0], 2), {"replacement": 1}),  # ValueError
    (([1.0, -2.0], 2), {}),  # a negative weight: RuntimeError
    (([0.0, 0.0], 2), {}),  # a zero sum
    (([1.0, 0.0], 3), {"replacement": False}),  # more draws than samples
])
def test_weighted_sampler_refuses_what_torch_refuses(args, kwargs):
    with pytest.raises(Exception) as theirs:
        list(tud.WeightedRandomSampler(*args, **kwargs))
    with pytest.raises(type(theirs.value)):
        list(ud.WeightedRandomSampler(*args, **kwargs))
