"""IDX files (MNIST format, raw and gzipped) and a user's .npz / .csv files."""

import gzip
import struct

import numpy as np
import pytest

from chainrule.data import load_dataset, load_file, read_idx

TYPE_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array):
    """The IDX encoding, written independently of the reader: magic, big-endian dims, big-endian data."""
    header = struct.pack(">BBBB", 0, 0, TYPE_CODES[array.dtype.type], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder, gz, n_train=12, n_test=6, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for name, array in arrays.items():
        data = idx_bytes(array)
        (folder / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(data) if gz else data)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_mnist_from_idx_files(tmp_path, gz, name):
    arrays = write_mnist(tmp_path, gz)
    splits = load_dataset(name, path=tmp_path, val=0)
    assert splits.val is None and splits.num_features == 784 and splits.num_classes == 10
    expected = arrays["train-images-idx3-ubyte"].reshape(12, 784) / 255.0
    np.testing.assert_allclose(splits.train.X, expected, rtol=1e-6)
    np.testing.assert_array_equal(splits.test.y, arrays["t10k-labels-idx1-ubyte"])
    assert splits.train.X.min() >= 0 and splits.train.X.max() <= 1
    with_val = load_dataset(name, path=tmp_path, val=0.25, seed=0)
    assert (len(with_val.train), len(with_val.val), len(with_val.test)) == (9, 3, 6)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_types_and_byte_order(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    (tmp_path / "a.idx").write_bytes(idx_bytes(array))
    out = read_idx(tmp_path / "a.idx")
    assert out.shape == (2, 3, 4) and out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, array)


def test_missing_files_are_named(tmp_path):
    write_mnist(tmp_path, gz=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing train-images-idx3-ubyte, t10k-labels-idx1-ubyte .* in"):
        load_dataset("mnist", path=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"fashion_mnist: folder .*nowhere' does not exist"):
        load_dataset("fashion_mnist", path=tmp_path / "nowhere")


@pytest.mark.parametrize(("corrupt", "match"), [
    (lambda data: data[:-10], r"is truncated: shape \(12, 28, 28\) needs 9408 bytes of data, found 9398"),
    (lambda data: data[:10], "is truncated: its header needs 16 bytes, the file has 10"),
    (lambda data: data + b"\x00", "is longer than its header says"),
    (lambda data: b"\x08\x03" + data[2:], "is not an IDX file: expected a magic number starting with bytes 00 00"),
    (lambda data: data[:2] + b"\x07" + data[3:], "unknown IDX type code 0x07"),
    (lambda data: b"", "got an empty file"),
])
def test_corrupt_idx_is_a_clear_error(tmp_path, corrupt, match):
    write_mnist(tmp_path, gz=False)
    target = tmp_path / "train-images-idx3-ubyte"
    target.write_bytes(corrupt(target.read_bytes()))
    with pytest.raises(ValueError, match=match):
        load_dataset("mnist", path=tmp_path)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    write_mnist(tmp_path, gz=True)
    target = tmp_path / "t10k-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:40])
    with pytest.raises(ValueError, match="is a truncated or corrupt gzip file"):
        load_dataset("mnist", path=tmp_path)


def test_images_and_labels_must_agree(tmp_path):
    write_mnist(tmp_path, gz=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(5, dtype=np.uint8)))
    with pytest.raises(ValueError, match="train has 12 images but 5 labels"):
        load_dataset("mnist", path=tmp_path)


# ---------------------------------------------------------------- .npz and .csv


@pytest.mark.parametrize(("kx", "ky"), [("X", "y"), ("x", "y"), ("features", "labels")])
def test_npz_key_pairs(tmp_path, kx, ky):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 4
    np.savez(tmp_path / "mine.npz", **{kx: X, ky: y})
    ds = load_file(tmp_path / "mine.npz")
    np.testing.assert_allclose(ds.X, X.astype(np.float32))
    assert ds.num_classes == 4 and ds.name == "mine"
    splits = load_dataset(str(tmp_path / "mine.npz"), val=0.2, test=0.2)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (24, 8, 8)


NPZ_LAYOUTS = {  # name -> (X, labels): the byte orders and memory orders np.save writes as they are
    "C order": (np.arange(12.0).reshape(4, 3), np.arange(4) % 2),
    "Fortran order": (np.asfortranarray(np.arange(12.0).reshape(4, 3)), np.arange(4) % 2),
    "big-endian": (np.arange(12.0).reshape(4, 3).astype(">f8"), (np.arange(4) % 2).astype(">i4")),
    "Fortran int16": (np.asfortranarray(np.arange(15, dtype=np.int16).reshape(3, 5)), np.array([0, 1, 1])),
    "no rows": (np.zeros((0, 3)), np.zeros(0, np.int64)),
}


@pytest.mark.parametrize("compressed", [False, True], ids=["stored", "deflated"])
@pytest.mark.parametrize("layout", NPZ_LAYOUTS)
def test_npz_members_stream_to_what_np_load_reads(tmp_path, layout, compressed):
    X, y = NPZ_LAYOUTS[layout]
    (np.savez_compressed if compressed else np.savez)(tmp_path / "a.npz", X=X, y=y)
    with np.load(tmp_path / "a.npz") as reference:
        expected_X, expected_y = reference["X"], reference["y"]
    ds = load_file(tmp_path / "a.npz", task="classification")
    np.testing.assert_array_equal(ds.X, expected_X.astype(ds.X.dtype))
    np.testing.assert_array_equal(ds.y, expected_y)


def test_npz_regression_and_feature_names(tmp_path):
    np.savez(tmp_path / "r.npz", X=np.ones((5, 2)), y=np.linspace(0, 1, 5), feature_names=np.array(["a", "b"]))
    ds = load_file(tmp_path / "r.npz")
    assert ds.task == "regression" and ds.feature_names == ["a", "b"]


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "wrong.npz", data=np.ones((3, 2)), target=np.zeros(3))
    with pytest.raises(ValueError, match=r"holds arrays \['data', 'target'\]; expected a features/labels pair"):
        load_file(tmp_path / "wrong.npz")
    np.savez(tmp_path / "obj.npz", X=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    with pytest.raises(ValueError, match="stores an object array"):
        load_file(tmp_path / "obj.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"is not a readable \.npz archive"):
        load_file(tmp_path / "bad.npz")


def test_csv_with_header_and_named_label_column(tmp_path):
    (tmp_path / "flowers.csv").write_text("species,width,length\nsetosa,1.0,2.0\nvirginica,3.0,4.5\n\nsetosa,0.5,1.5\n")
    ds = load_file(tmp_path / "flowers.csv", label_column="species")
    assert ds.feature_names == ["width", "length"] and ds.class_names == ["setosa", "virginica"]
    np.testing.assert_allclose(ds.X, [[1.0, 2.0], [3.0, 4.5], [0.5, 1.5]])
    np.testing.assert_array_equal(ds.y, [0, 1, 0])


def test_csv_without_header_last_column_default(tmp_path):
    rows = [f"{i},{i * 0.5},{i % 3}" for i in range(30)]
    (tmp_path / "plain.csv").write_text("\n".join(rows))
    ds = load_file(tmp_path / "plain.csv")
    assert ds.feature_names is None and ds.X.shape == (30, 2) and ds.num_classes == 3
    np.testing.assert_array_equal(ds.y, np.arange(30) % 3)
    first = load_file(tmp_path / "plain.csv", label_column=0, task="regression")
    assert first.task == "regression" and first.y[4] == 4.0
    splits = load_dataset(tmp_path / "plain.csv")
    assert splits.standardizer is not None and sum(len(p) for p in splits) == 30


def test_csv_float_labels_mean_regression(tmp_path):
    (tmp_path / "reg.csv").write_text("a,b,target\n1,2,0.5\n3,4,1.25\n")
    assert load_file(tmp_path / "reg.csv").task == "regression"


@pytest.mark.parametrize(("text", "kwargs", "match"), [
    ("a,b,c\n1,x,0\n", {}, r"row 2, column 'b': expected a number, got 'x' \(features must be numeric\)"),
    ("1,2,0\n3,4\n", {}, "row 2 has 2 cells; expected 3"),
    ("1,2,0\n", {"label_column": 5}, r"label_column must be a column name or an index in \[-3, 3\), got 5"),
    ("a,b,c\n1,2,0\n", {"label_column": "d"}, "label_column 'd' is not in the header"),
    ("a,b,c\n", {}, "has a header but no data rows"),
    ("", {}, "has no rows"),
    ("1,2,0.5\n", {"task": "classification"}, "task='classification' needs whole-number labels"),
    ("1,2,0\n", {"task": "cluster"}, "task must be one of"),
])
def test_csv_errors(tmp_path, text, kwargs, match):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_file(tmp_path / "bad.csv", **kwargs)


def test_file_path_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="load_file: no file at"):
        load_dataset(str(tmp_path / "absent.csv"))
    (tmp_path / "data.txt").write_text("1,2,3")
    with pytest.raises(ValueError, match=r"expected a \.npz or \.csv file, got 'data\.txt'"):
        load_file(tmp_path / "data.txt")


def test_csv_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    (tmp_path / "excel.csv").write_text("width,label\n1.5,0\n2.5,1\n", encoding="utf-8-sig")
    assert load_file(tmp_path / "excel.csv").feature_names == ["width"]
