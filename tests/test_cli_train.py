"""`python -m selu_lab train` end to end on small subsets: seed lines, --json, --out, errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from selu_lab.cli import main

REPO = Path(__file__).resolve().parents[1]
SEED_LINE = re.compile(r"^Epoch \[(\d+)/(\d+)\], Loss: \d+\.\d{4}$")
QUICK = ["--subset", "512", "--test-subset", "500", "--threads", "1", "--device", "cpu"]


def test_seed_lines_then_accuracy_and_speed(mnist_dir: Path, capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    status = main(["train", "--epochs", "2", "--data-dir", str(mnist_dir), "--out", str(tmp_path / "run"),
                   *QUICK])
    out, err = capsys.readouterr()
    assert status == 0, err
    lines = out.splitlines()
    assert [SEED_LINE.match(line).groups() for line in lines[:2]] == [("1", "2"), ("2", "2")]
    assert re.match(r"^Test Accuracy: \d+\.\d\d%$", lines[2])
    assert lines[3].startswith("Images/s: ")
    assert "\r" not in err  # no progress bar when stderr is not a terminal
    run = tmp_path / "run"
    state = torch.load(run / "model.pt", weights_only=True)
    assert set(state) >= {"conv1.weight", "fc2.bias"}
    assert (run / "metrics.csv").read_text().splitlines()[0].startswith("epoch,train_loss,test_loss")
    assert len((run / "metrics.csv").read_text().splitlines()) == 3
    assert json.loads((run / "summary.json").read_text())["status"] == "finished"


def test_json_summary(mnist_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["train", "--recipe", "fast", "--epochs", "1", "--activation", "elu", "--seed", "3",
                   "--data-dir", str(mnist_dir), "--json", *QUICK])
    out, _ = capsys.readouterr()
    assert status == 0
    summary = json.loads(out)  # exactly one JSON document, nothing else on stdout
    assert summary["status"] == "finished"
    assert summary["config"]["activation"] == "elu" and summary["config"]["init"] == "lecun"
    assert summary["config"]["seed"] == 3 and summary["config"]["recipe"] == "fast"
    assert len(summary["epochs"]) == 1
    assert set(summary["epochs"][0]) >= {"train_loss", "test_loss", "test_accuracy", "images_per_s"}
    assert 0 < summary["test_accuracy"] <= 1 and len(summary["per_class_accuracy"]) == 10


@pytest.mark.parametrize(("args", "needle"), [
    (["--epochs", "0"], "--epochs"),
    (["--lr", "abc"], "--lr"),
    (["--lr", "0"], "--lr"),
    (["--activation", "swish"], "--activation"),
    (["--recipe", "turbo"], "--recipe"),
    (["--activation", "relu", "--alpha", "0.3"], "α"),
    (["--dropout-rate", "2"], "--dropout-rate"),
    (["--device", "tpu"], "device"),
    (["--device", "cpu:x"], "device"),
])
def test_bad_arguments_exit_2_with_one_line(args: list[str], needle: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        status = main(["train", *args])
        raise SystemExit(status)
    _, err = capsys.readouterr()
    assert exc.value.code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_missing_data_exits_2_saying_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["train", "--data-dir", str(tmp_path / "empty"), "--no-download"])
    _, err = capsys.readouterr()
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and str(tmp_path / "empty") in err
    assert "train-images-idx3-ubyte" in err


def test_unwritable_out_fails_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    status = main(["train", "--data-dir", str(tmp_path / "no_data"), "--no-download",
                   "--out", str(blocker / "run")])
    _, err = capsys.readouterr()
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "--out" in err and "cannot be written" in err  # not the missing data: --out is checked first


def test_a_write_error_after_training_keeps_the_printed_results(
        mnist_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from selu_lab.train import TrainResult

    def disk_full(self, path=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(TrainResult, "save_weights", disk_full)
    status = main(["train", "--epochs", "1", "--data-dir", str(mnist_dir), "--out", str(tmp_path / "run"),
                   *QUICK])
    out, err = capsys.readouterr()
    assert status == 2
    assert SEED_LINE.match(out.splitlines()[0]) and "Test Accuracy" in out
    assert err.strip().splitlines() == [err.strip()] and "No space left on device" in err


def test_a_data_dir_that_cannot_be_created_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("SELU_LAB_DATA_DIR", str(blocker))
    status = main(["train", "--data-dir", str(blocker)])
    _, err = capsys.readouterr()
    assert status == 2 and len(err.strip().splitlines()) == 1 and "cannot be created" in err


def test_divergence_exits_1_with_the_reason(mnist_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["train", "--optimizer", "sgd", "--lr", "100000", "--epochs", "1",
                   "--data-dir", str(mnist_dir), *QUICK])
    out, _ = capsys.readouterr()
    assert status == 1
    assert out.startswith("diverged: training diverged") and "Test Accuracy" in out


def test_module_entry_point(mnist_dir: Path) -> None:
    """The real command in a subprocess: seed-format lines on stdout, exit status 0."""
    proc = subprocess.run([sys.executable, "-m", "selu_lab", "train", "--epochs", "1",
                           "--data-dir", str(mnist_dir), *QUICK],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert SEED_LINE.match(proc.stdout.splitlines()[0])


def test_progress_bar_on_a_terminal(mnist_dir: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    status = main(["train", "--epochs", "1", "--data-dir", str(mnist_dir), *QUICK])
    out, err = capsys.readouterr()
    assert status == 0
    assert "\r[" in err and "batch 8/8" in err and "img/s" in err
    assert SEED_LINE.match(out.splitlines()[0])  # the bar never mixes into stdout


def test_the_cli_offers_exactly_the_trainers_choices() -> None:
    from selu_lab.cli import train as cli
    from selu_lab.models import DROPOUTS
    from selu_lab.train import OPTIMIZERS, RECIPES, SCHEDULES

    assert set(cli._RECIPES) == set(RECIPES) and set(cli._OPTIMIZERS) == set(OPTIMIZERS)
    assert set(cli._SCHEDULES) == set(SCHEDULES) and set(cli._DROPOUTS) == set(DROPOUTS)
