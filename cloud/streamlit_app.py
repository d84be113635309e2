"""Entry point for Streamlit Community Cloud: the same app, with CPU-only torch wheels.

Community Cloud looks for a dependency file next to the entry point first, so
choosing this file in the deploy dialog installs `cloud/requirements.txt`
(CPU wheels: ~213 MB RSS for `import torch` instead of ~648 MB for the CUDA build).
"""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
runpy.run_path(str(ROOT / "streamlit_app.py"), run_name="__main__")
