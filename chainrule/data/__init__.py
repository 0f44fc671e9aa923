"""Data: `Dataset`, `DataLoader`, splits and standardization, validation, and every built-in data set.

>>> import chainrule as cr
>>> splits = cr.data.load_dataset("circle", n_samples=100, noise=5, seed=0)
>>> xb, yb = next(iter(cr.data.DataLoader(splits.train, batch_size=16, shuffle=True, seed=0)))
>>> xb.shape, yb.dtype
((16, 2), dtype('int64'))
"""

from chainrule.data.builtin import default_cache_dir, load_mnist1d, load_sklearn
from chainrule.data.dataset import Dataset, TensorDataset
from chainrule.data.files import load_file
from chainrule.data.idx import load_mnist_folder, read_idx
from chainrule.data.loader import DataLoader
from chainrule.data.playground import make_playground
from chainrule.data.registry import available_datasets, load_dataset
from chainrule.data.splits import Splits, Standardizer, standardize, train_val_test_split
from chainrule.data.validate import validate, validate_dataset

__all__ = [
    "DataLoader", "Dataset", "Splits", "Standardizer", "TensorDataset", "available_datasets",
    "default_cache_dir", "load_dataset", "load_file", "load_mnist1d", "load_mnist_folder", "load_sklearn",
    "make_playground", "read_idx", "standardize", "train_val_test_split", "validate", "validate_dataset",
]
