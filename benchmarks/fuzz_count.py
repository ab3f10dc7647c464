"""Fuzz the entry points with many inputs and count the ones that produced a traceback.

    python benchmarks/fuzz_count.py [--specs 5000] [--presets 2000] [--cli 2000]

Uses the strategies and checks of ``tests/fuzz_inputs.py`` (the same as ``tests/test_fuzz.py``,
which runs a few hundred per property); compute entry points are stubbed, so each input takes
milliseconds. Prints one line per entry point, "tried N, tracebacks K", and the first few
failures; exits 1 if any input failed.
"""
import argparse
import pathlib
import sys
import tempfile

sys.path[:0] = [str(pathlib.Path(__file__).resolve().parent.parent / "tests"),
                str(pathlib.Path(__file__).resolve().parent.parent)]

from fuzz_inputs import (REACHED, argv_inputs, check_argv, check_preset_input, check_spec_input,  # noqa: E402
                         no_compute, preset_inputs, spec_inputs)
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402


def fuzz(strategy, check, n: int) -> tuple[int, list[str]]:
    """Draw up to ``n`` inputs from ``strategy``; (number tried, failure descriptions)."""
    tried, failures = [0], []

    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(value):
        tried[0] += 1
        problem = check(*value) if isinstance(value, tuple) else check(value)
        if problem is not None:
            failures.append(problem)
    run()
    return tried[0], failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=5000)
    parser.add_argument("--presets", type=int, default=2000)
    parser.add_argument("--cli", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = pathlib.Path(tmp)
        with no_compute(directory):
            results = {"spec fields": fuzz(spec_inputs(), check_spec_input, args.specs),
                       "preset()": fuzz(preset_inputs(), check_preset_input, args.presets),
                       "command lines": fuzz(argv_inputs(directory), check_argv, args.cli)}
    total_tried = total_failed = 0
    for name, (tried, failures) in results.items():
        print(f"{name}: tried {tried}, tracebacks {len(failures)}")
        for failure in failures[:3]:
            print("   ", failure.strip().replace("\n", "\n    "))
        total_tried, total_failed = total_tried + tried, total_failed + len(failures)
    print(f"all: tried {total_tried}, tracebacks {total_failed}")
    print(f"command lines that passed every check and reached a (stubbed) computation: {sum(REACHED.values())} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(REACHED.items()))})")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
