"""`python -m selu_lab activation|moments`: JSON output and one-line errors."""

import json
import subprocess
import sys

import pytest

from selu_lab.cli import main
from tests.util import assert_usage_error


def run_cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_activation_json(capsys):
    code, out, _ = run_cli(capsys, "activation", "--name", "selu", "--x=-2,-0.5,1", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["x"] == [-2.0, -0.5, 1.0]
    assert data["value"][2] == pytest.approx(1.0507009873554805)
    assert data["derivative_left_at_0"] == pytest.approx(1.7580993408473766)
    assert data["derivative_right_at_0"] == pytest.approx(1.0507009873554805)
    assert len(data["derivative"]) == 3


def test_moments_json(capsys):
    code, out, _ = run_cli(capsys, "moments", "--name", "selu", "--mean", "0", "--std", "1", "--json")
    data = json.loads(out)
    assert code == 0 and set(data) == {"mean", "var"}
    assert abs(data["mean"]) < 1e-9 and abs(data["var"] - 1) < 1e-9
    code, out, _ = run_cli(capsys, "moments", "--name", "elu", "--alpha", "2", "--mean", "1", "--std", "2",
                           "--json")
    assert code == 0 and json.loads(out)["var"] > 1


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["activation", "--name", "nope", "--x=1"], "choose one of"),
        (["activation", "--name", "elu", "--x=1,inf"], "finite"),
        (["activation", "--name", "elu", "--x=a"], "number"),
        (["activation", "--name", "relu", "--alpha", "1", "--x=1"], "no α"),
        (["moments", "--name", "selu", "--std", "-1"], "std"),
        (["activation", "--name", "selu", "--x=1,,2"], "comma-separated"),
        (["moments", "--name", "gelu", "--std", "1e300"], "double precision"),
        (["moments", "--name", "elu", "--std", "1e200"], "double precision"),
        (["moments", "--name", "elu", "--mean", "1e200", "--std", "1"], "double precision"),
        (["moments", "--name", "elu", "--alpha", "99", "--std", "1"], "α must be"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, needle):
    assert_usage_error(capsys, argv, needle)


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "selu_lab", "activation", "--name", "nope", "--x=1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "choose one of" in proc.stderr
