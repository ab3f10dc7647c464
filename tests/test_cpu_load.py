"""The load outside the lab's workers, as the job manager measures it to size their thread pools."""
import subprocess
import sys
import time

from qml_core.runtime import cpu_load
from qml_core.runtime.cpu_load import OtherLoad


def test_a_busy_process_counts_as_load_unless_it_is_one_of_ours(monkeypatch):
    monkeypatch.setattr(cpu_load, "SAMPLE_S", 0.0)
    busy = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 3\nwhile time.time() < end: pass"])
    try:
        time.sleep(0.3)
        outside, ours = OtherLoad(), OtherLoad()  # the same interval, with and without the busy pid
        start, ticks = time.monotonic(), cpu_load._process_ticks(busy.pid)
        assert outside.sample([]) == ours.sample([busy.pid]) == 0.0  # the first sample only starts it
        time.sleep(1.0)
        difference = outside.sample([]) - ours.sample([busy.pid])
        used = (cpu_load._process_ticks(busy.pid) - ticks) / cpu_load.CLOCK_TICKS / (time.monotonic() - start)
        assert used > 0.05 and abs(difference - used) < 0.1  # the busy process's cores, counted only outside
    finally:
        busy.kill()
        busy.wait()


def test_a_sample_within_the_interval_returns_the_last_estimate():
    load = OtherLoad()
    load.sample([])
    load.cores = 1.5  # as a previous interval might have measured
    assert load.sample([]) == 1.5
