"""Summarise a py-spy profile written by ``bench_backfill.py --profile PY_SPY``.

    python -m benchmarks.profile_summary data/bench/backfill-30x30000/backfill.pyspy.txt
    python -m benchmarks.profile_summary FILE --under "read_raw_window" [--depth 2]

The file holds py-spy's collapsed stacks (``--format raw``): one line per distinct stack
and process with its sample count; only samples of running (not idle) threads, so the
figures are CPU seconds. Without ``--under``: CPU seconds per process (the run worker,
each dbt invocation), then per process the functions with the most samples of their own
(self) and the frames with the most samples in or below them (inclusive). With
``--under FRAME``: where the time below the first frame containing FRAME goes.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

LINE_NUMBER = re.compile(r":\d+\)")


def _parse(path: Path, rate: float):
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        processes = [f for f in frames if f.startswith("process ")]
        process = processes[-1] if processes else "?"
        name = "dbt" + process.split("dbt", 2)[-1][:70] if "bin/dbt" in process else "run worker"
        code = [LINE_NUMBER.sub(")", f) for f in frames if not f.startswith("process ")]
        yield name.rstrip('"'), code, int(count) / rate


def summary(path: Path, rate: float, top: int) -> None:
    per_process: Counter[str] = Counter()
    own: defaultdict[str, Counter[str]] = defaultdict(Counter)
    inclusive: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for process, frames, seconds in _parse(path, rate):
        per_process[process] += seconds
        if frames:
            own[process][frames[-1]] += seconds
        for frame in set(frames):
            inclusive[process][frame] += seconds
    print(f"CPU seconds sampled per process ({path.name}):")
    for process, seconds in per_process.most_common():
        print(f"  {seconds:8.1f}  {process}")
    for process, _ in per_process.most_common(3):
        print(f"\n{process}: self")
        for frame, seconds in own[process].most_common(top):
            print(f"  {seconds:8.1f}  {frame[:150]}")
        print(f"{process}: inclusive")
        for frame, seconds in inclusive[process].most_common(top * 2):
            print(f"  {seconds:8.1f}  {frame[:150]}")


def under(path: Path, rate: float, target: str, depth: int, top: int) -> None:
    children: Counter[str] = Counter()
    total = 0.0
    for _, frames, seconds in _parse(path, rate):
        index = next((i for i, f in enumerate(frames) if target in f), None)
        if index is None:
            continue
        total += seconds
        children[";".join(frames[index + 1 : index + 1 + depth]) or "<self>"] += seconds
    print(f"{total:.1f} CPU seconds in or below {target!r}:")
    for frame, seconds in children.most_common(top):
        print(f"  {seconds:8.1f}  {frame[:200]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--under", help="break down the time below this frame")
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--rate", type=float, default=25.0, help="samples per second")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    if args.under:
        under(args.profile, args.rate, args.under, args.depth, args.top)
    else:
        summary(args.profile, args.rate, args.top)


if __name__ == "__main__":
    main()
