"""The trainer: recipes and validation, events, stop, determinism, divergence, results, save/load.

Most tests train on a tiny synthetic set (always available, about a second); the
loss-goes-down test uses 1 024 real MNIST images. Full runs belong in bench/.
"""

from __future__ import annotations

import csv
import io
import math
import threading

import numpy as np
import pytest
import torch

from selu_lab.cpu import cpu_count, prepare_cpu
from selu_lab.data import MnistData
from selu_lab.train import (
    ASSIGNMENT_EPOCH_LOSSES,
    BatchEvent,
    EpochEvent,
    TrainConfig,
    TrainResult,
    load_weights,
    recipe_config,
    resolve_device,
    train,
    validate,
)


def quick(**overrides: object) -> TrainConfig:
    # one thread: on a busy shared CPU two OpenMP threads can be 10× slower than one
    settings = {"epochs": 2, "device": "cpu", "threads": 1, **overrides}
    return recipe_config(str(settings.pop("recipe", "seed")), **settings)


# ---------------------------------------------------------------- configuration


def test_seed_recipe_is_the_assignment() -> None:
    c = recipe_config("seed")
    assert (c.optimizer, c.lr, c.batch_size, c.epochs, c.init, c.standardize, c.schedule) == \
        ("adam", 1e-3, 64, 5, "pytorch", False, "constant")
    assert (c.activation, c.dropout, c.recipe) == ("selu", "none", "seed")
    assert c == validate(TrainConfig())


def test_fast_recipe_and_overrides() -> None:
    c = recipe_config("fast")
    assert (c.init, c.standardize, c.batch_size, c.lr, c.schedule, c.recipe) == \
        ("lecun", True, 128, 3e-3, "onecycle", "fast")
    c = recipe_config("fast", epochs=3, activation="ELU", lr=1e-3)
    assert (c.epochs, c.activation, c.lr, c.init) == (3, "elu", 1e-3, "lecun")


def test_assignment_losses_constant() -> None:
    assert ASSIGNMENT_EPOCH_LOSSES == (0.2154, 0.0901, 0.0602, 0.0453, 0.0351)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"epochs": 0}, "epochs"),
    ({"epochs": 2.5}, "epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": True}, "batch_size"),
    ({"lr": 0.0}, "lr"),
    ({"lr": float("nan")}, "lr"),
    ({"lr": "fast"}, "lr"),
    ({"optimizer": "lbfgs"}, "optimizer"),
    ({"schedule": "step"}, "schedule"),
    ({"dropout": "drop"}, "dropout"),
    ({"dropout_rate": 0.95}, "dropout_rate"),
    ({"init": "zeros"}, "init"),
    ({"activation": "swish"}, "activation"),
    ({"activation": "relu", "scale": 2.0}, "activation"),
    ({"subset": 0}, "subset"),
    ({"subset": 60_001}, "subset"),
    ({"seed": -1}, "seed"),
    ({"device": "tpu"}, "device"),
    ({"device": "cpu:x"}, "device"),
    ({"standardize": "yes"}, "standardize"),
    ({"momentum": 1.5}, "momentum"),
    ({"threads": 0}, "threads"),
    ({"precision": "fp16"}, "precision"),
    ({"colour": "red"}, "colour"),
])
def test_bad_values_name_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        recipe_config("seed", **overrides)


def test_unknown_recipe() -> None:
    with pytest.raises(ValueError, match="recipe must be one of: seed, fast"):
        recipe_config("turbo")
    with pytest.raises(ValueError, match="recipe"):
        validate(TrainConfig(recipe="slow"))
    with pytest.raises(ValueError, match="TrainConfig"):
        validate({"epochs": 1})  # type: ignore[arg-type]


def test_devices() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            resolve_device("cuda")


def test_prepare_cpu_flushes_denormals_and_uses_all_cores() -> None:
    prepare_cpu()
    assert torch.tensor([1e-40], dtype=torch.float32).mul(1.0).item() == 0.0
    assert torch.get_num_threads() == cpu_count()
    prepare_cpu(1)
    assert torch.get_num_threads() == 1


# ---------------------------------------------------------------- training on the fake set


def test_events_and_result(fake_mnist: MnistData) -> None:
    events: list[object] = []
    result = train(quick(batch_size=100), fake_mnist, on_event=events.append)
    batches = [e for e in events if isinstance(e, BatchEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert len(batches) == 2 * 6 and len(epochs) == 2  # 512 images → 5 full batches and one of 12
    assert [b.step for b in batches] == list(range(1, 13))
    assert batches[-1].total_steps == 12 and batches[0].batches_per_epoch == 6
    assert all(b.images_per_s > 0 and b.elapsed > 0 and b.lr == 1e-3 for b in batches)
    assert epochs[0].seed_line() == f"Epoch [1/2], Loss: {epochs[0].train_loss:.4f}"
    assert epochs[0].train_loss == pytest.approx(np.mean([b.loss for b in batches[:6]]))
    assert result.status == "finished" and result.reason == ""
    assert result.epochs == epochs and result.batch_losses == [b.loss for b in batches]
    assert result.steps == 12 and result.batches_per_epoch == 6 and result.device == "cpu"
    assert result.test_accuracy == epochs[-1].test_accuracy
    assert 0.0 <= result.test_accuracy <= 1.0 and result.images_per_s > 0


def test_metrics_are_consistent(fake_mnist: MnistData) -> None:
    r = train(quick(), fake_mnist)
    n = fake_mnist.n_test
    assert r.confusion.shape == (10, 10) and r.confusion.dtype == np.int64
    assert r.confusion.sum() == n
    assert np.array_equal(r.confusion.sum(axis=1), np.bincount(fake_mnist.test_labels.numpy(), minlength=10))
    assert r.test_accuracy == pytest.approx(np.trace(r.confusion) / n)
    assert np.allclose(r.per_class_accuracy, np.diag(r.confusion) / r.confusion.sum(axis=1))
    mis = r.misclassified
    assert len(mis) == n - np.trace(r.confusion)
    assert np.array_equal(mis.labels, fake_mnist.test_labels.numpy()[mis.indices])
    assert np.all(mis.preds != mis.labels) and np.all((mis.confidence > 0) & (mis.confidence <= 1))
    assert mis.images(fake_mnist).shape == (len(mis), 28, 28)


@pytest.mark.parametrize("threads", [1, None])
def test_same_seed_same_losses(fake_mnist: MnistData, threads: int | None) -> None:
    config = quick(dropout="alpha", dropout_rate=0.1, init="lecun", standardize=True, threads=threads)
    a, b = train(config, fake_mnist), train(config, fake_mnist)
    assert a.batch_losses == b.batch_losses
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    c = train(quick(dropout="alpha", dropout_rate=0.1, init="lecun", standardize=True, seed=1), fake_mnist)
    assert c.batch_losses != a.batch_losses


def test_global_rng_does_not_change_a_run(fake_mnist: MnistData) -> None:
    config = quick(epochs=1, dropout="standard", dropout_rate=0.3)
    torch.manual_seed(1)
    a = train(config, fake_mnist)
    torch.manual_seed(2)
    assert train(config, fake_mnist).batch_losses == a.batch_losses


def test_stop_is_honoured_within_one_batch(fake_mnist: MnistData) -> None:
    stop = threading.Event()
    seen: list[int] = []

    def on_event(ev: object) -> None:
        if isinstance(ev, BatchEvent):
            seen.append(ev.step)
            if ev.step == 3:
                stop.set()

    result = train(quick(epochs=5, batch_size=32), fake_mnist, on_event=on_event, stop=stop)
    assert result.status == "stopped" and "epoch 1, batch 4" in result.reason
    assert seen == [1, 2, 3] and len(result.batch_losses) == 3 and result.steps == 3
    assert result.epochs == []
    # the partial model is still evaluated
    assert result.confusion.sum() == fake_mnist.n_test and 0 <= result.test_accuracy <= 1


def test_stop_before_the_start(fake_mnist: MnistData) -> None:
    stop = threading.Event()
    stop.set()
    result = train(quick(), fake_mnist, stop=stop)
    assert result.status == "stopped" and result.batch_losses == [] and result.images_per_s == 0.0


def test_stop_from_another_thread(fake_mnist: MnistData) -> None:
    stop = threading.Event()
    started = threading.Event()
    out: list[TrainResult] = []

    def on_event(ev: object) -> None:
        started.set()

    worker = threading.Thread(target=lambda: out.append(
        train(quick(epochs=200, batch_size=16), fake_mnist, on_event=on_event, stop=stop)))
    worker.start()
    assert started.wait(30)
    stop.set()
    worker.join(30)
    assert not worker.is_alive() and out[0].status == "stopped"
    assert out[0].steps < 200 * 32


def test_divergence_keeps_the_history(fake_mnist: MnistData) -> None:
    events: list[object] = []
    result = train(quick(optimizer="sgd", lr=1e5, epochs=3), fake_mnist, on_event=events.append)
    assert result.status == "diverged"
    assert "diverged" in result.reason and "learning rate" in result.reason
    assert not math.isfinite(result.batch_losses[-1])
    assert all(math.isfinite(x) for x in result.batch_losses[:-1]) and len(result.batch_losses) >= 2
    assert len([e for e in events if isinstance(e, BatchEvent)]) == len(result.batch_losses) - 1
    assert result.confusion.sum() == fake_mnist.n_test  # still evaluated, no exception


def test_data_is_never_modified(fake_mnist: MnistData) -> None:
    before = [t.clone() for t in (fake_mnist.train_images, fake_mnist.train_labels,
                                  fake_mnist.test_images, fake_mnist.test_labels)]
    train(quick(epochs=1, standardize=True), fake_mnist)
    after = (fake_mnist.train_images, fake_mnist.train_labels, fake_mnist.test_images, fake_mnist.test_labels)
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_subset_and_test_subset(fake_mnist: MnistData) -> None:
    r = train(quick(epochs=1, subset=100, test_subset=50, batch_size=10), fake_mnist)
    assert r.steps == 10 and r.confusion.sum() == 50
    with pytest.raises(ValueError, match="subset"):
        train(quick(subset=10_000), fake_mnist)


@pytest.mark.parametrize("overrides", [
    {"optimizer": "sgd", "schedule": "cosine"},
    {"optimizer": "adamw", "weight_decay": 0.01, "recipe": "fast"},
    {"activation": "gelu", "dropout": "standard", "dropout_rate": 0.2},
])
def test_other_settings_run(fake_mnist: MnistData, overrides: dict) -> None:
    r = train(quick(epochs=1, **overrides), fake_mnist)
    assert r.status == "finished" and all(math.isfinite(x) for x in r.batch_losses)


@pytest.mark.skipif(not torch.ops.mkldnn._is_mkldnn_bf16_supported(), reason="no native bfloat16 CPU")
def test_bf16_autocast(fake_mnist: MnistData) -> None:
    fp32 = train(quick(epochs=1), fake_mnist)
    bf16 = train(quick(epochs=1, precision="bf16"), fake_mnist)
    assert bf16.status == "finished" and bf16.batch_losses != fp32.batch_losses
    assert bf16.batch_losses[0] == pytest.approx(fp32.batch_losses[0], rel=0.05)
    assert all(v.dtype == torch.float32 for v in bf16.state_dict.values())  # weights stay float32
    assert train(quick(epochs=1, precision="bf16"), fake_mnist).batch_losses == bf16.batch_losses


def test_onecycle_schedule_peaks_at_lr(fake_mnist: MnistData) -> None:
    events: list[object] = []
    train(quick(recipe="fast", batch_size=16, lr=2e-3), fake_mnist, on_event=events.append)
    lrs = [e.lr for e in events if isinstance(e, BatchEvent)]
    assert max(lrs) == pytest.approx(2e-3, rel=0.02) and lrs[0] < 2e-3 / 10 and lrs[-1] < 1e-5


def test_save_and_load(fake_mnist: MnistData, tmp_path: object) -> None:
    config = quick(epochs=1, activation="elu", init="lecun", standardize=True)
    r = train(config, fake_mnist)
    payload = r.save_weights(tmp_path / "model.pt")
    assert (tmp_path / "model.pt").read_bytes() == payload
    model = load_weights(payload, config)
    x = fake_mnist.test_images[:8].unsqueeze(1).float() / 255
    with torch.no_grad():
        assert torch.allclose(model(x), r.model()(x))
        preds = model(fake_mnist.test_images.unsqueeze(1).float() / 255).argmax(1).numpy()
    wrong = np.flatnonzero(preds != fake_mnist.test_labels.numpy())
    assert np.array_equal(wrong, r.misclassified.indices)
    assert isinstance(torch.load(tmp_path / "model.pt", weights_only=True), dict)
    with pytest.raises(ValueError, match="cannot load weights"):
        load_weights(b"not a checkpoint", config)
    with pytest.raises(ValueError, match="do not fit"):
        load_weights(_saved({"fc2.weight": torch.zeros(3)}), config)


def _saved(obj: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_metrics_csv(fake_mnist: MnistData, tmp_path: object) -> None:
    r = train(quick(), fake_mnist)
    rows = list(csv.DictReader(io.StringIO(r.metrics_csv(tmp_path / "m.csv").decode())))
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    assert float(rows[1]["test_accuracy"]) == r.epochs[1].test_accuracy
    assert float(rows[0]["train_loss"]) == r.epochs[0].train_loss  # full precision
    assert (tmp_path / "m.csv").exists()
    losses = list(csv.DictReader(io.StringIO(r.batch_losses_csv().decode())))
    assert len(losses) == len(r.batch_losses) and losses[-1]["epoch"] == "2"
    assert [row["epoch"] for row in r.metrics_rows()] == [1, 2]
    summary = r.summary()
    assert summary["status"] == "finished" and len(summary["epochs"]) == 2
    assert summary["config"]["activation"] == "selu"


# ---------------------------------------------------------------- real MNIST, tiny subset


def test_training_lowers_the_loss_on_real_mnist(mnist: MnistData) -> None:
    r = train(quick(subset=1024, test_subset=1000), mnist)
    assert r.status == "finished" and len(r.batch_losses) == 32
    assert r.epochs[1].train_loss < 0.7 * r.epochs[0].train_loss
    assert np.mean(r.batch_losses[-4:]) < 0.5 * np.mean(r.batch_losses[:4])
    assert r.test_accuracy > 0.75  # chance is 0.1
    assert r.epochs[1].test_loss < r.epochs[0].test_loss
