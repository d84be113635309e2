"""`python -m selu_lab selfnorm | moment-map | selu-params`: JSON output, tables and one-line errors."""

import json
import subprocess
import sys

import pytest

from selu_lab.activations import SELU_ALPHA, SELU_SCALE
from selu_lab.cli import main
from tests.util import assert_usage_error


def run_cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_selfnorm_json(capsys):
    code, out, _ = run_cli(capsys, "selfnorm", "--activation", "selu", "--init", "lecun", "--depth", "6",
                           "--width", "64", "--batch", "128", "--input-mean", "0", "--input-std", "1",
                           "--dropout", "none", "--dropout-rate", "0", "--seed", "3", "--json")
    data = json.loads(out)
    assert code == 0
    layers = data["layers"]
    assert [row["layer"] for row in layers] == [1, 2, 3, 4, 5, 6]
    for row in layers:
        assert {"layer", "mean", "var", "grad_norm"} <= set(row)
        assert abs(row["mean"]) < 0.2 and 0.6 < row["var"] < 1.4 and row["grad_norm"] > 0


def test_selfnorm_no_grad_analytic_and_dropout(capsys):
    code, out, _ = run_cli(capsys, "selfnorm", "--activation", "elu", "--init", "selu_gain", "--depth", "3",
                           "--width", "32", "--batch", "64", "--dropout", "alpha", "--dropout-rate", "0.1",
                           "--no-grad", "--analytic", "--json")
    rows = json.loads(out)["layers"]
    assert code == 0 and len(rows) == 3
    assert all(r["grad_norm"] is None for r in rows)  # NaN becomes null
    assert all(r["analytic_var"] > 0 for r in rows)


def test_selfnorm_table(capsys):
    code, out, _ = run_cli(capsys, "selfnorm", "--depth", "3", "--width", "16", "--batch", "64")
    assert code == 0 and "SELU + LeCun" in out and "grad_norm" in out and "GFLOP" in out
    assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) >= 3


def test_moment_map_json(capsys):
    code, out, _ = run_cli(capsys, "moment-map", "--mu", "0", "--nu", "1", "--omega", "0", "--tau", "1",
                           "--json")
    data = json.loads(out)
    assert code == 0 and set(data) == {"mu", "nu", "jacobian", "spectral_norm"}
    assert abs(data["mu"]) < 1e-9 and abs(data["nu"] - 1) < 1e-9
    assert len(data["jacobian"]) == 2 and all(len(r) == 2 for r in data["jacobian"])
    assert data["spectral_norm"] == pytest.approx(0.7876734, abs=1e-6)
    code, out, _ = run_cli(capsys, "moment-map", "--mu", "0.5", "--nu", "2", "--omega", "0.1", "--tau", "1",
                           "--alpha", "1", "--scale", "1", "--json")  # ELU
    assert code == 0 and json.loads(out)["nu"] < 2


def test_moment_map_table(capsys):
    code, out, _ = run_cli(capsys, "moment-map", "--mu", "0", "--nu", "1")
    assert code == 0 and "spectral norm" in out and "contracting" in out


def test_selu_params_json(capsys):
    code, out, _ = run_cli(capsys, "selu-params", "--mean", "0", "--var", "1", "--json")
    data = json.loads(out)
    assert code == 0 and set(data) == {"alpha", "scale", "dropout_a", "dropout_b"}
    assert abs(data["alpha"] - SELU_ALPHA) < 1e-9 and abs(data["scale"] - SELU_SCALE) < 1e-9
    assert data["dropout_a"] == pytest.approx(1.0) and data["dropout_b"] == pytest.approx(0.0)
    code, out, _ = run_cli(capsys, "selu-params", "--mean", "0", "--var", "1", "--dropout-rate", "0.1",
                           "--json")
    data = json.loads(out)
    assert data["dropout_a"] == pytest.approx(0.9212845, abs=1e-6)
    assert data["dropout_b"] == pytest.approx(0.1619710, abs=1e-6)
    code, out, _ = run_cli(capsys, "selu-params", "--mean", "0.5", "--var", "1", "--weights", "paper-code")
    assert code == 0 and "α =" in out and "λ =" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["selfnorm", "--depth", "0"], "[1, 200]"),
        (["selfnorm", "--width", "4096"], "[8, 2048]"),
        (["selfnorm", "--batch", "10"], "[64, 8192]"),
        (["selfnorm", "--dropout-rate", "0.5"], "[0, 0.3]"),
        (["selfnorm", "--activation", "swish"], "invalid choice"),
        (["selfnorm", "--init", "orthogonal"], "invalid choice"),
        (["selfnorm", "--activation", "relu", "--alpha", "1"], "no α"),
        (["selfnorm", "--batch", "64", "--grad-batch", "100"], "grad batch"),
        (["selfnorm", "--input-std", "nan"], "finite"),
        (["moment-map", "--mu", "0"], "--nu"),
        (["moment-map", "--mu", "0", "--nu", "-1"], "> 0"),
        (["moment-map", "--mu", "0", "--nu", "1", "--tau", "0"], "> 0"),
        (["selu-params", "--var", "0"], "> 0"),
        (["selu-params", "--mean", "3", "--var", "0.1"], "no SELU parameters"),
        (["selu-params", "--dropout-rate", "1"], "[0, 0.99]"),
        (["selu-params", "--var", "1e-300"], "double precision"),
        (["selu-params", "--var", "1e300"], "double precision"),
        (["selu-params", "--mean", "1e300", "--var", "1"], "double precision"),  # no warnings either
        (["moment-map", "--mu", "0", "--nu", "1e308", "--tau", "10"], "double precision"),
        (["moment-map", "--mu", "0", "--nu", "1", "--alpha", "1e308"], "double precision"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, needle):
    assert_usage_error(capsys, argv, needle)


def test_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "selu_lab", "selu-params", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and json.loads(proc.stdout)["alpha"] == pytest.approx(SELU_ALPHA)
    proc = subprocess.run([sys.executable, "-m", "selu_lab", "moment-map", "--mu", "0", "--nu", "-2"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_a_dropout_rate_without_dropout_gets_a_note(capsys):
    code, _, err = run_cli(capsys, "selfnorm", "--depth", "2", "--width", "8", "--batch", "64",
                           "--dropout-rate", "0.2", "--json")
    assert code == 0 and "--dropout-rate 0.2 is ignored" in err
