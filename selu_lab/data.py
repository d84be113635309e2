"""MNIST as four in-memory tensors (uint8 images, int64 labels).

The IDX files are parsed here with NumPy (fast, no per-sample objects): a
``DataLoader`` with per-sample ``ToTensor`` was the seed's bottleneck, and
``import torchvision`` alone costs about a second and 175 MB, so torchvision is
imported lazily and only to download the files where a network exists.

Files are looked for, uncompressed or ``.gz``, in ``data_dir`` and in
``data_dir/MNIST/raw`` (torchvision's layout). ``data_dir`` defaults to
``$SELU_LAB_DATA_DIR`` or ``./data``.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ENV_VAR = "SELU_LAB_DATA_DIR"

# split -> (images file, labels file), as published and as torchvision names them
FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
EXPECTED_COUNTS: dict[str, int] = {"train": 60_000, "test": 10_000}
IMAGE_SIZE = 28
NUM_CLASSES = 10
# mean and standard deviation of the training pixels scaled to [0, 1]
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
# the first labels of each split in the published order (a check that nothing was shuffled)
FIRST_LABELS: dict[str, tuple[int, ...]] = {
    "train": (5, 0, 4, 1, 9, 2, 1, 3, 1, 4),
    "test": (7, 2, 1, 0, 4, 1, 4, 9, 5, 9),
}

_IDX_UBYTE = 0x08


def _how_to_get(root: Path) -> str:
    return (f"get the four files {', '.join(n for pair in FILES.values() for n in pair)} (uncompressed or "
            f".gz) from https://ossci-datasets.s3.amazonaws.com/mnist/ and put them in {root} (or run once "
            f"with network access to download them), or point --data-dir / ${ENV_VAR} at a directory "
            "that has them")


class DataError(ValueError):
    """MNIST missing, truncated or corrupt; the message names the directory or the file."""


@dataclass(frozen=True)
class MnistData:
    """The whole of MNIST in memory. Treat the tensors as read-only: the app shares one copy."""

    train_images: torch.Tensor  # uint8 [60000, 28, 28]
    train_labels: torch.Tensor  # int64 [60000]
    test_images: torch.Tensor  # uint8 [10000, 28, 28]
    test_labels: torch.Tensor  # int64 [10000]
    source: str = ""  # the directory the files were read from

    @property
    def n_train(self) -> int:
        return int(self.train_labels.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.test_labels.shape[0])


def default_data_dir() -> Path:
    """``$SELU_LAB_DATA_DIR`` if set, else ``./data``."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env) if env else Path("data")


def candidate_dirs(data_dir: str | Path) -> list[Path]:
    """Where the four files are looked for: ``data_dir`` and ``data_dir/MNIST/raw``."""
    root = Path(data_dir)
    return [root, root / "MNIST" / "raw"]


def find_mnist_files(data_dir: str | Path) -> dict[str, Path] | None:
    """Map each file name of ``FILES`` to an existing path, or None if any is missing.

    All four must come from the same directory; the uncompressed file wins over ``.gz``.
    """
    for folder in candidate_dirs(data_dir):
        found: dict[str, Path] = {}
        for name in (n for pair in FILES.values() for n in pair):
            for path in (folder / name, folder / f"{name}.gz"):
                if path.is_file():
                    found[name] = path
                    break
        if len(found) == 4:
            return found
    return None


def _read_bytes(path: Path) -> bytearray:
    """The file's bytes (gunzipped for .gz), as a writable buffer."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return bytearray(fh.read())
        return bytearray(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DataError(f"cannot read MNIST file {path}: {exc} (corrupt or truncated; delete it and "
                        "fetch it again)") from None


def read_idx(path: str | Path, ndim: int, item_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Parse one IDX file of unsigned bytes with ``ndim`` dimensions.

    Checks the magic number, the dimensions (``item_shape`` for all but the first)
    and that the file size matches the header; raises DataError naming the file.
    """
    path = Path(path)
    buf = _read_bytes(path)
    header = 4 + 4 * ndim
    expected_magic = (_IDX_UBYTE << 8) | ndim
    if len(buf) < 4:
        raise DataError(f"MNIST file {path} is truncated: {len(buf)} bytes, no IDX header")
    magic = int.from_bytes(buf[:4], "big")
    if magic != expected_magic:
        raise DataError(f"MNIST file {path} has a wrong magic number 0x{magic:08x}; expected "
                        f"0x{expected_magic:08x} (IDX, unsigned bytes, {ndim} dimension(s))")
    if len(buf) < header:
        raise DataError(f"MNIST file {path} is truncated: {len(buf)} bytes, header needs {header}")
    dims = tuple(int.from_bytes(buf[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if item_shape is not None and dims[1:] != tuple(item_shape):
        raise DataError(f"MNIST file {path} holds items of shape {dims[1:]}; expected {tuple(item_shape)}")
    expected_size = header + int(np.prod(dims, dtype=np.int64))
    if len(buf) != expected_size:
        what = "truncated" if len(buf) < expected_size else "too long"
        raise DataError(f"MNIST file {path} is {what}: {len(buf)} bytes, its header "
                        f"({' x '.join(map(str, dims))}) needs {expected_size}")
    return np.frombuffer(buf, dtype=np.uint8, offset=header).reshape(dims)


def _load_split(split: str, files: dict[str, Path],
                expected: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    img_name, lbl_name = FILES[split]
    images = read_idx(files[img_name], 3, (IMAGE_SIZE, IMAGE_SIZE))
    labels = read_idx(files[lbl_name], 1)
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"MNIST {split} split: {files[img_name]} has {images.shape[0]} images but "
                        f"{files[lbl_name]} has {labels.shape[0]} labels")
    if expected is not None and images.shape[0] != expected:
        raise DataError(f"MNIST file {files[img_name]} has {images.shape[0]} images; the {split} split "
                        f"has {expected} (wrong or partial file)")
    if labels.size and int(labels.max()) >= NUM_CLASSES:
        raise DataError(f"MNIST file {files[lbl_name]} has a label {int(labels.max())}; labels are 0–9")
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def download_mnist(data_dir: str | Path) -> None:
    """Download the four files into ``data_dir/MNIST/raw`` with torchvision (imported here only).

    Raises DataError saying where the files are expected when it fails (e.g. no network).
    """
    raw = Path(data_dir) / "MNIST" / "raw"
    try:
        from torchvision.datasets import MNIST
        from torchvision.datasets.utils import download_and_extract_archive
    except ImportError as exc:
        raise DataError(f"MNIST not found in {Path(data_dir)} and torchvision, which downloads it, "
                        f"cannot be imported ({exc}); {_how_to_get(Path(data_dir))}") from None
    created = [d for d in (raw.parent.parent, raw.parent, raw) if not d.exists()]
    try:
        raw.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"MNIST not found in {Path(data_dir)}, and {raw} cannot be created to download it "
                        f"into ({exc.strerror or exc}); {_how_to_get(Path(data_dir))}") from None
    for filename, md5 in MNIST.resources:
        errors = []
        for mirror in MNIST.mirrors:
            try:
                download_and_extract_archive(f"{mirror}{filename}", download_root=str(raw),
                                             filename=filename, md5=md5)
                break
            except Exception as exc:  # URLError, RuntimeError, OSError, …: report, never a traceback
                text = str(exc).strip().strip("'\"") or repr(exc)
                errors.append(f"{mirror}: {text.splitlines()[0]}")
        else:
            for folder in reversed(created):  # leave no empty directories behind
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise DataError(f"MNIST not found in {Path(data_dir)} (nor in {raw}) and the download failed "
                            f"({'; '.join(errors)}); {_how_to_get(Path(data_dir))}")


def load_mnist(data_dir: str | Path | None = None, download: bool = True,
               expected_counts: dict[str, int] | None = EXPECTED_COUNTS) -> MnistData:
    """Load MNIST from ``data_dir`` (default: ``default_data_dir()``), downloading it if allowed.

    ``expected_counts`` (images per split) guards against partial files; pass None for
    test fixtures with a few images. Raises DataError with a one-line message.
    """
    root = default_data_dir() if data_dir is None else Path(data_dir)
    files = find_mnist_files(root)
    if files is None:
        if not download:
            dirs = " or ".join(str(d) for d in candidate_dirs(root))
            raise DataError(f"MNIST not found: expected its four files in {dirs}; {_how_to_get(root)}")
        download_mnist(root)
        files = find_mnist_files(root)
        if files is None:  # pragma: no cover - torchvision succeeded but left no files
            raise DataError(f"MNIST download into {root / 'MNIST' / 'raw'} left no usable files; "
                            f"{_how_to_get(root)}")
    counts = expected_counts or {}
    train_images, train_labels = _load_split("train", files, counts.get("train"))
    test_images, test_labels = _load_split("test", files, counts.get("test"))
    return MnistData(train_images, train_labels, test_images, test_labels,
                     source=str(files[FILES["train"][0]].parent))
