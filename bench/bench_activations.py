"""Server-side time of one Activations-tab rerun at default settings (goal ≤ 0.1 s).

Runs the real script through Streamlit's AppTest: the first run fills the caches,
later reruns are what a user waits for after moving a slider. Prints the median.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def main(reruns: int = 15) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    t0 = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t0
    assert not at.exception, at.exception
    print(f"first run (imports + cold caches): {cold:.2f} s")
    fresh = [1.05 + 0.05 * i for i in range(reruns)]
    alternating = [1.0 + 0.5 * (i % 2) for i in range(reruns)]
    for label, values in (("new ELU α every rerun (nothing cached)", fresh),
                          ("two α values alternating (cached)", alternating)):
        times = []
        for value in values:
            at.slider(key="act_elu_alpha").set_value(value)
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
        assert not at.exception, at.exception
        warm = statistics.median(times[2:])
        print(f"Activations rerun, {label}, median of {len(times) - 2}: {warm * 1000:.1f} ms "
              f"= {warm / 0.1:.2f}× the 100 ms goal")


if __name__ == "__main__":
    main()
