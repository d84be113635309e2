"""The MNIST loader: IDX parsing on small files written here, clear errors, the real set's layout."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from selu_lab import data as data_mod
from selu_lab.data import (
    ENV_VAR,
    EXPECTED_COUNTS,
    FILES,
    FIRST_LABELS,
    DataError,
    MnistData,
    default_data_dir,
    find_mnist_files,
    load_mnist,
    read_idx,
)


def write_idx(path: Path, array: np.ndarray, magic: int | None = None, extra: bytes = b"",
              cut: int = 0, dims: tuple[int, ...] | None = None) -> Path:
    """Write ``array`` (uint8) as an IDX file; the keyword arguments corrupt it on purpose."""
    array = np.asarray(array, dtype=np.uint8)
    dims = array.shape if dims is None else dims
    magic = (0x08 << 8 | len(dims)) if magic is None else magic
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)
    payload = header + array.tobytes() + extra
    if cut:
        payload = payload[:-cut]
    if path.suffix == ".gz":
        payload = gzip.compress(payload)
    path.write_bytes(payload)
    return path


def small_set(n_train: int = 12, n_test: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_set(folder: Path, arrays: dict[str, np.ndarray], gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_idx(folder / (name + (".gz" if gz else "")), array)
    return folder


def load_small(folder: Path) -> MnistData:
    return load_mnist(folder, download=False, expected_counts=None)


@pytest.mark.parametrize("layout", ["flat", "raw", "flat-gz", "raw-gz"])
def test_round_trip(tmp_path: Path, layout: str) -> None:
    arrays = small_set()
    folder = tmp_path / "MNIST" / "raw" if layout.startswith("raw") else tmp_path
    write_set(folder, arrays, gz=layout.endswith("gz"))
    d = load_small(tmp_path)
    assert d.train_images.dtype == torch.uint8 and d.train_images.shape == (12, 28, 28)
    assert d.test_images.shape == (5, 28, 28)
    assert d.train_labels.dtype == torch.int64 and d.test_labels.dtype == torch.int64
    assert np.array_equal(d.train_images.numpy(), arrays["train-images-idx3-ubyte"])
    assert np.array_equal(d.test_labels.numpy(), arrays["t10k-labels-idx1-ubyte"])
    assert d.n_train == 12 and d.n_test == 5
    assert Path(d.source) == folder


def test_uncompressed_wins_over_gz(tmp_path: Path) -> None:
    write_set(tmp_path, small_set(seed=1), gz=True)
    arrays = small_set(seed=2)
    write_set(tmp_path, arrays)
    assert np.array_equal(load_small(tmp_path).train_images.numpy(), arrays["train-images-idx3-ubyte"])


def test_missing_files_without_download_say_where(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_mnist(tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path) in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert "train-images-idx3-ubyte" in msg and ENV_VAR in msg and "\n" not in msg


def test_one_file_missing_counts_as_missing(tmp_path: Path) -> None:
    write_set(tmp_path, small_set())
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    assert find_mnist_files(tmp_path) is None
    with pytest.raises(DataError, match="not found"):
        load_small(tmp_path)


def test_no_network_gives_one_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    utils = pytest.importorskip("torchvision.datasets.utils")
    from urllib.error import URLError

    def offline(url: str, **kwargs: object) -> None:
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(utils, "download_and_extract_archive", offline)
    root = tmp_path / "nowhere"
    with pytest.raises(DataError) as err:
        load_mnist(root, download=True)
    msg = str(err.value)
    assert "download failed" in msg and str(root) in msg and "Name or service not known" in msg
    assert "Traceback" not in msg and "\n" not in msg
    assert not root.exists()  # no empty directories left behind


def _corrupt(tmp_path: Path, name: str, **kwargs: object) -> Path:
    arrays = small_set()
    write_set(tmp_path, arrays)
    return write_idx(tmp_path / name, arrays[name], **kwargs)


@pytest.mark.parametrize(("name", "kwargs", "match"), [
    ("train-images-idx3-ubyte", {"magic": 0x00000801}, "wrong magic"),
    ("t10k-labels-idx1-ubyte", {"magic": 0x00000d01}, "wrong magic"),
    ("train-images-idx3-ubyte", {"cut": 100}, "truncated"),
    ("train-labels-idx1-ubyte", {"cut": 1}, "truncated"),
    ("t10k-images-idx3-ubyte", {"extra": b"\0" * 7}, "too long"),
    ("train-images-idx3-ubyte", {"dims": (12, 28, 27)}, "shape"),
])
def test_corrupt_file_is_named(tmp_path: Path, name: str, kwargs: dict, match: str) -> None:
    bad = _corrupt(tmp_path, name, **kwargs)
    with pytest.raises(DataError, match=match) as err:
        load_small(tmp_path)
    assert str(bad) in str(err.value)


def test_header_only_file(tmp_path: Path) -> None:
    arrays = small_set()
    write_set(tmp_path, arrays)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="truncated"):
        load_small(tmp_path)


def test_bad_gzip_is_named(tmp_path: Path) -> None:
    write_set(tmp_path, small_set(), gz=True)
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:200])  # truncated gzip stream
    with pytest.raises(DataError) as err:
        load_small(tmp_path)
    assert str(bad) in str(err.value)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    bad.unlink()
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", small_set()["train-images-idx3-ubyte"])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz"):
        load_small(tmp_path)


def test_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    arrays = small_set()
    write_set(tmp_path, arrays)
    write_idx(tmp_path / "train-labels-idx1-ubyte", arrays["train-labels-idx1-ubyte"][:-1])
    with pytest.raises(DataError, match=r"12 images but .* 11 labels"):
        load_small(tmp_path)


def test_expected_counts_guard_partial_files(tmp_path: Path) -> None:
    write_set(tmp_path, small_set())
    with pytest.raises(DataError, match="60000") as err:
        load_mnist(tmp_path, download=False)  # the default expects the full set
    assert "train-images-idx3-ubyte" in str(err.value)
    assert EXPECTED_COUNTS == {"train": 60_000, "test": 10_000}


def test_label_out_of_range(tmp_path: Path) -> None:
    arrays = small_set()
    arrays["t10k-labels-idx1-ubyte"][2] = 10
    write_set(tmp_path, arrays)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_small(tmp_path)


def test_read_idx_returns_the_array(tmp_path: Path) -> None:
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(read_idx(write_idx(tmp_path / "x", a), 3), a)


def test_nothing_half_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A corrupt test split fails the whole load even though the train split parsed."""
    _corrupt(tmp_path, "t10k-images-idx3-ubyte", cut=3)
    calls = []
    original = data_mod._load_split
    monkeypatch.setattr(data_mod, "_load_split", lambda *a: calls.append(a[0]) or original(*a))
    with pytest.raises(DataError):
        load_small(tmp_path)
    assert calls == ["train", "test"]


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_data_dir() == Path("data")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert default_data_dir() == tmp_path


def test_loader_does_not_import_torchvision(tmp_path: Path) -> None:
    import subprocess
    import sys

    write_set(tmp_path, small_set())
    code = ("import sys; from selu_lab.data import load_mnist; "
            f"load_mnist({str(tmp_path)!r}, download=False, expected_counts=None); "
            "print('torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- the real set


def test_real_mnist_layout(mnist: MnistData) -> None:
    for split, n in (("train", 60_000), ("test", 10_000)):
        images = getattr(mnist, f"{split}_images")
        labels = getattr(mnist, f"{split}_labels")
        assert images.shape == (n, 28, 28) and images.dtype == torch.uint8
        assert labels.shape == (n,) and labels.dtype == torch.int64
        assert int(labels.min()) == 0 and int(labels.max()) == 9
        assert tuple(labels[:10].tolist()) == FIRST_LABELS[split]
        assert int(images.max()) == 255 and int(images.min()) == 0
    # class balance as published: every digit has 5421–6742 training images
    counts = np.bincount(mnist.train_labels.numpy(), minlength=10)
    assert counts.min() == 5421 and counts.max() == 6742
    assert set(FILES) == {"train", "test"}


def test_real_mnist_pixels_match_published_mean(mnist: MnistData) -> None:
    mean = mnist.train_images.to(torch.float64).mean().item() / 255
    assert mean == pytest.approx(0.1307, abs=5e-5)
