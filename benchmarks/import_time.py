"""How long ``import recsim_bench`` takes, against what it cannot avoid (gymnasium and numpy).

    python benchmarks/import_time.py            # median of 7 fresh interpreters each
    python benchmarks/import_time.py --runs 15

Each figure is the median over ``--runs`` fresh ``python`` processes of the wall time of one import
statement, timed inside the process; the two statements alternate, so that both see the same load.
``python -X importtime -c "import recsim_bench"`` shows where the time goes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

STATEMENTS = {"import recsim_bench": "import recsim_bench", "import gymnasium, numpy": "import gymnasium, numpy"}


def seconds(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per statement")
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(args.runs):
        for name, statement in STATEMENTS.items():
            times[name].append(seconds(statement))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:<26} {median:6.3f} s (median of {args.runs})")
    print(f"ratio                      {medians['import recsim_bench'] / medians['import gymnasium, numpy']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
