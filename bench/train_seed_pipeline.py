"""The seed's exact training pipeline, kept as the baseline of bench_train.py.

torchvision's MNIST with a per-sample ``ToTensor``, a ``DataLoader`` (batch 64,
shuffled), the CNN with ``F.selu``, Adam 1e-3, cross-entropy: what the
assignment ran. Nothing here is tuned; that is the point.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader


class SeedCNN(nn.Module):
    """The assignment's model, as written in the seed script."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.selu(self.conv1(x)))
        x = self.pool(F.selu(self.conv2(x)))
        x = x.view(-1, 64 * 7 * 7)
        x = F.selu(self.fc1(x))
        return self.fc2(x)


def torchvision_root(files: dict[str, Path]) -> tuple[Path, Path | None]:
    """A root torchvision's MNIST accepts (``root/MNIST/raw`` with uncompressed files).

    Returns (root, temporary directory to delete or None). ``files`` comes from
    ``selu_lab.data.find_mnist_files``.
    """
    folders = {p.parent for p in files.values()}
    if len(folders) == 1 and all(p.suffix != ".gz" for p in files.values()):
        folder = folders.pop()
        if folder.name == "raw" and folder.parent.name == "MNIST":
            return folder.parent.parent, None
    tmp = Path(tempfile.mkdtemp(prefix="seed_mnist_"))
    raw = tmp / "MNIST" / "raw"
    raw.mkdir(parents=True)
    import gzip

    for name, path in files.items():
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as src, open(raw / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            (raw / name).symlink_to(path.resolve())
    return tmp, tmp


def seed_loaders(root: Path, batch_size: int = 64) -> tuple[DataLoader, DataLoader]:
    """The seed's datasets and loaders (downloads nothing when the raw files are there)."""
    from torchvision import datasets, transforms

    transform = transforms.ToTensor()
    train_dataset = datasets.MNIST(root=str(root), train=True, download=True, transform=transform)
    test_dataset = datasets.MNIST(root=str(root), train=False, download=True, transform=transform)
    train_loader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(test_dataset, batch_size=1000, shuffle=False)
    return train_loader, test_loader


def run_seed(train_loader: DataLoader, test_loader: DataLoader | None,
             epochs: int = 5, max_batches: int | None = None, seed: int = 0,
             log: Callable[[str], None] | None = None) -> dict:
    """The seed's training loop; ``max_batches`` cuts it short (throughput runs).

    Returns epoch losses, test accuracy (if ``test_loader``), images, training time
    and total wall time (training plus the final evaluation).
    """
    torch.manual_seed(seed)
    model = SeedCNN()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    t0 = time.perf_counter()
    images = 0
    batches = 0
    epoch_losses: list[float] = []
    epoch_ends: list[float] = []
    for epoch in range(epochs):
        model.train()
        running_loss = 0.0
        for batch_images, labels in train_loader:
            optimizer.zero_grad()
            outputs = model(batch_images)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            images += labels.shape[0]
            batches += 1
            if max_batches is not None and batches >= max_batches:
                break
        else:
            epoch_losses.append(running_loss / len(train_loader))
            epoch_ends.append(time.perf_counter() - t0)
            if log is not None:
                log(f"Epoch [{epoch + 1}/{epochs}], Loss: {epoch_losses[-1]:.4f}")
            continue
        break
    train_time = time.perf_counter() - t0
    accuracy = None
    if test_loader is not None:
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for batch_images, labels in test_loader:
                predicted = model(batch_images).argmax(1)
                total += labels.size(0)
                correct += (predicted == labels).sum().item()
        accuracy = correct / total
    return {"epoch_losses": epoch_losses, "epoch_ends": epoch_ends, "test_accuracy": accuracy,
            "images": images, "batches": batches, "train_time": train_time,
            "wall_time": time.perf_counter() - t0, "images_per_s": images / train_time}
