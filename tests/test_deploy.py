"""Community Cloud readiness: the cloud entry point, its requirements and the server config."""

import re
import tomllib
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def _names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[<>=!~ \[]", line)[0].lower())
    return names


def test_cloud_entry_point_runs_the_app():
    at = AppTest.from_file(str(ROOT / "cloud" / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.tabs[0].label == "Activations"


def test_cloud_requirements_use_cpu_wheels_and_cover_the_runtime():
    cloud = ROOT / "cloud" / "requirements.txt"
    assert "download.pytorch.org/whl/cpu" in cloud.read_text()
    assert _names(ROOT / "requirements.txt") - {"pytest"} <= _names(cloud)


def test_config_works_around_the_torch_file_watcher_error():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["fileWatcherType"] == "none"  # streamlit issue 10992
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["maxUploadSize"] <= 20
    # a full gc.collect after every fragment poll held the GIL ~0.2 s and slowed training ~20 %
    assert config["runner"]["postScriptGC"] is False
