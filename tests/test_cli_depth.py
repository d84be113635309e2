"""`python -m selu_lab depth`: JSON shape, the table, one-line errors with exit status 2."""

import json

import pytest

from selu_lab import data as data_module
from selu_lab.cli import main
from tests.test_depth import synthetic_mnist

TINY = ["depth", "--depths", "2,3", "--strategies", "selu,relu_bn", "--width", "16", "--steps", "6",
        "--batch-size", "16", "--checkpoint-every", "3"]


@pytest.fixture
def fake_mnist(monkeypatch):
    """Let the CLI load small synthetic MNIST-shaped data instead of the real files."""
    data = synthetic_mnist(n_train=256, n_test=64)
    seen = {}

    def load(data_dir=None, download=True, **_):
        seen["data_dir"] = data_dir
        return data

    monkeypatch.setattr(data_module, "load_mnist", load)
    return seen


def run_cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_has_one_record_per_run_with_losses_and_layer_stats(capsys, fake_mnist):
    code, out, _ = run_cli(capsys, *TINY, "--json", "--data-dir", "somewhere")
    assert code == 0 and fake_mnist["data_dir"] == "somewhere"
    doc = json.loads(out)
    runs = doc["runs"]
    assert [(r["depth"], r["strategy"]) for r in runs] == [(2, "selu"), (2, "relu_bn"),
                                                           (3, "selu"), (3, "relu_bn")]
    for r in runs:
        assert r["arch"] == "mlp" and len(r["losses"]) == 6
        assert all(isinstance(v, float) for v in r["losses"])
        assert isinstance(r["final_loss"], float) and 0 <= r["test_accuracy"] <= 1
        assert [s["layer"] for s in r["layer_stats"]] == list(range(1, r["depth"] + 1))
        assert all({"layer", "mean", "var", "grad_norm"} <= set(s) for s in r["layer_stats"])
        assert r["layer_stats_step"] == 6  # statistics at the end of training
    assert doc["config"]["lrs"] == [0.01] and doc["config"]["width"] == 16


def test_sweep_and_cnn(capsys, fake_mnist):
    code, out, _ = run_cli(capsys, "depth", "--arch", "cnn", "--depths", "2", "--strategies", "elu",
                           "--width", "2", "--steps", "3", "--batch-size", "8", "--lrs", "0.01,0.1",
                           "--optimizer", "adam", "--json")
    runs = json.loads(out)["runs"]
    assert code == 0 and [r["lr"] for r in runs] == [0.01, 0.1] and runs[0]["arch"] == "cnn"
    assert len(runs[0]["layer_stats"]) == 3  # two convolutions and the hidden dense layer


def test_divergence_is_null_in_json(capsys, fake_mnist):
    code, out, _ = run_cli(capsys, "depth", "--depths", "6", "--strategies", "relu", "--width", "64",
                           "--steps", "30", "--batch-size", "16", "--lr", "10", "--json")
    run = json.loads(out)["runs"][0]
    assert code == 0 and run["diverged_at"] is not None and run["final_loss"] is None
    assert run["status"] == "diverged"


def test_table_progress_and_reading_without_json(capsys, fake_mnist):
    code, out, err = run_cli(capsys, *TINY)
    assert code == 0
    assert "final loss" in out and "SELU + LeCun" in out and "ReLU + He + BatchNorm" in out
    assert "reached the lowest training loss" in out  # the reading
    assert "estimated" in err and "100%" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["depth", "--depths", "1"], "[2, 64]"),
        (["depth", "--depths", "8,x"], "integer"),
        (["depth", "--strategies", "selu,swish"], "selu, elu, relu, relu_bn, tanh"),
        (["depth", "--arch", "rnn"], "invalid choice"),
        (["depth", "--optimizer", "rmsprop"], "invalid choice"),
        (["depth", "--lr", "0"], "learning rates must be in (0, 10]"),
        (["depth", "--lr", "0.1", "--lrs", "0.1,0.2"], "not both"),
        (["depth", "--lrs", "0.1,-1"], "learning rates"),
        (["depth", "--width", "0"], "[1, 4096]"),
        (["depth", "--arch", "cnn", "--width", "512"], "width for cnn"),
        (["depth", "--batch-size", "0"], "[1, 4096]"),
        (["depth", "--steps", "0"], "[1, 100000]"),
        (["depth", "--subset", "0"], "[1, 60000]"),
        (["depth", "--checkpoint-every", "0"], "[1, 100000]"),
        (["depth", "--seed", "-5"], "--seed"),
        (["depth", "--seed", "99999999999999999999999"], "--seed"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, fake_mnist, argv, needle):
    code = None
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_subset_larger_than_the_data_and_missing_data_exit_2(capsys, fake_mnist, monkeypatch):
    assert main([*TINY, "--subset", "1000"]) == 2
    err = capsys.readouterr().err
    assert "exceeds" in err and err.count("\n") == 1

    def broken(*_, **__):
        raise data_module.DataError("MNIST not found: expected its four files in nowhere")

    monkeypatch.setattr(data_module, "load_mnist", broken)
    assert main([*TINY, "--json"]) == 2
    err = capsys.readouterr().err
    assert "MNIST not found" in err and err.count("\n") == 1


def test_corrupt_files_are_a_usage_error(capsys, tmp_path, monkeypatch):
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(b"not an idx file")
    assert main([*TINY, "--data-dir", str(tmp_path), "--json"]) == 2
    err = capsys.readouterr().err
    assert "magic number" in err and err.count("\n") == 1


def test_real_mnist_end_to_end(capsys, mnist_dir):
    code, out, _ = run_cli(capsys, "depth", "--data-dir", str(mnist_dir), "--depths", "2",
                           "--strategies", "selu,relu_bn", "--width", "32", "--steps", "30", "--lr", "0.05",
                           "--subset", "2000", "--json")
    assert code == 0
    for run in json.loads(out)["runs"]:
        assert run["final_loss"] < 0.8 * run["losses"][0]  # it learns
        assert run["test_accuracy"] > 0.4  # on the 10 000 real test digits; chance is 0.1
