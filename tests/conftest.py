"""Shared fixtures: the real MNIST (found, downloaded, or skipped with the reason) and a tiny fake one.

``mnist_dir`` looks for the four MNIST files in ``$SELU_LAB_DATA_DIR``, ``./data``,
the repository's ``data/`` and ``../shared/data/mnist``; failing that it downloads
them through torchvision into the default data directory; failing that the test is
skipped with the reason — or failed, when ``SELU_LAB_REQUIRE_MNIST=1`` (set by ``.ci/run``,
which always provides the files, so in CI these tests run).
Tests using ``mnist_dir`` or ``mnist`` get the ``mnist`` marker automatically.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from selu_lab.data import ENV_VAR, DataError, MnistData, download_mnist, find_mnist_files, load_mnist

REPO = Path(__file__).resolve().parents[1]
_MNIST_FIXTURES = {"mnist_dir", "mnist"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _MNIST_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.mnist)


def mnist_candidates() -> list[Path]:
    """Directories searched for the real MNIST files, in order."""
    dirs = []
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        dirs.append(Path(env))
    dirs += [Path("data"), REPO / "data", Path("../shared/data/mnist"),
             REPO.parent / "shared" / "data" / "mnist"]
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in {u.resolve() for u in unique}:
            unique.append(d)
    return unique


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("SELU_LAB_REQUIRE_MNIST") == "1":
        pytest.fail(f"SELU_LAB_REQUIRE_MNIST=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """A directory with the real MNIST files, or skip with the reason."""
    candidates = mnist_candidates()
    for folder in candidates:
        if find_mnist_files(folder) is not None:
            return folder
    target = candidates[0] if os.environ.get(ENV_VAR, "").strip() else REPO / "data"
    where = ", ".join(map(str, candidates))
    try:
        download_mnist(target)
    except DataError as exc:
        _skip_or_fail(f"real MNIST not found in {where} and not downloadable: {exc}")
    if find_mnist_files(target) is None:
        _skip_or_fail(f"real MNIST not found in {where}; the download left no files")
    return target


@pytest.fixture(scope="session")
def mnist(mnist_dir: Path) -> MnistData:
    """The real MNIST, loaded once per session (treat as read-only)."""
    return load_mnist(mnist_dir, download=False)


def make_fake_mnist(n_train: int = 512, n_test: int = 256, seed: int = 0) -> MnistData:
    """A small learnable stand-in for MNIST: each class a bright 7×7 square at its own place, plus noise."""
    gen = torch.Generator().manual_seed(seed)

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, 10, (n,), generator=gen)
        images = torch.randint(0, 60, (n, 28, 28), generator=gen, dtype=torch.int64)
        for c in range(10):
            r, q = divmod(c, 4)
            sel = labels == c
            images[sel, 2 + 8 * r: 9 + 8 * r, 1 + 7 * q: 8 + 7 * q] += 180
        return images.clamp_(0, 255).to(torch.uint8), labels

    train_images, train_labels = split(n_train)
    test_images, test_labels = split(n_test)
    return MnistData(train_images, train_labels, test_images, test_labels, source="fake")


@pytest.fixture(scope="session")
def fake_mnist() -> MnistData:
    """A tiny synthetic MNIST-shaped data set (always available, trains in a second)."""
    return make_fake_mnist()
