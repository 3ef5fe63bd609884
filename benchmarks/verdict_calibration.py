"""How often the Impact page's verdict claims a change at ordinary dates, and how often it finds
known shifts inserted into the real series (see dashboard/analysis/calibration.py).

    python benchmarks/verdict_calibration.py [--national N] [--states N]

Prints the table that notebooks/FINDINGS.md also carries, and the time it took.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import impact  # noqa: E402
from dashboard.findings import calibration_table  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    conf = impact.defaults()["calibration"]
    parser.add_argument("--national", type=int, default=conf["national_draws"], help="ordinary dates on national series")
    parser.add_argument("--states", type=int, default=conf["state_draws"], help="ordinary dates on state series")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = impact.calibration(args.national, args.states)
    elapsed = time.perf_counter() - start
    print("\n".join(calibration_table(result)))
    codes = result.draws[result.draws["shift"] == 0]["code"].value_counts().to_dict()
    print(f"\nverdicts at ordinary dates: {codes}")
    print(f"{len(result.draws)} fits in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
