"""Run every benchmark script in this folder, one after another (``make bench``).

Each ``bench_*.py`` prints the ratios it measured in one run; this runner only sequences them
and reports which failed. Pass script names (e.g. ``bench_lrp``) to run a subset.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    scripts = sorted(here.glob("bench_*.py"))
    if argv:
        wanted = {a.removesuffix(".py") for a in argv}
        unknown = wanted - {s.stem for s in scripts}
        if unknown:
            print(f"error: unknown benchmark(s) {sorted(unknown)}; available: "
                  f"{[s.stem for s in scripts]}", file=sys.stderr)
            return 2
        scripts = [s for s in scripts if s.stem in wanted]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script)])
        print(f"--- {script.stem}: exit {rc}, {time.perf_counter() - t0:.1f} s", flush=True)
        if rc:
            failed.append(script.stem)
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
