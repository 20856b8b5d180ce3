"""Compare: one benchmark against two servers in one run, alternating A, B, B, A, ..., so that
the noise of a shared machine falls on both; prints each side's median, the ratio of the
medians B / A, and the paired ratio: B's run over A's run of the same round, whose geometric
mean and range say more than the medians when the machine's speed drifts during a sitting
(the runs of one round are minutes apart, the rounds of a sitting up to an hour).

``python -m bench compare --a <target> --b <target> [--rounds N] <benchmark> [its options]``
where a target is ``.`` (this checkout's hub), ``floor`` (bench/floor.py) or the path of
another checkout (e.g. ``git worktree add --detach /tmp/main-hub main``). Each run is its own
``python -m bench <benchmark> --target <target> --json`` process.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The figures each benchmark is judged by: (label, dotted path in its JSON, lower is better).
FIGURES: dict[str, list[tuple[str, str, bool]]] = {
    "fanout": [("fan-out p50 ms", "latency.p50", True), ("fan-out p99 ms", "latency.p99", True),
               ("ack p99 ms", "ack_latency.p99", True), ("hub CPU cores", "hub_cpu_cores", True),
               ("hub peak KiB", "hub_peak_memory_kib", True)],
    "connections": [("sockets/s", "open_rate", False), ("KiB per socket", "per_socket_kib", True),
                    ("hub CPU s to open", "hub_open_cpu_s", True)],
    "storm": [("s to all synced", "all_synced_s", True), ("per-socket p99 ms", "hello.p99", True),
              ("sockets/s", "rate", False)],
    "hellos": [("sockets/s", "rate", False), ("hello p99 ms", "hello.p99", True),
               ("hub CPU ms per hello", "cpu_ms_per_hello", True)],
}


@dataclass
class Side:
    """One server's runs, by round (None: the run failed to report)."""

    target: str
    runs: list[dict[str, Any] | None] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def results(self) -> list[dict[str, Any]]:
        """The runs that reported."""
        return [run for run in self.runs if run is not None]

    def median(self, path: str) -> float:
        """The median of the figure at ``path`` over the runs that reported it."""
        values = [v for r in self.results if (v := _get(r, path)) is not None]
        return statistics.median(values) if values else float("nan")


def paired(a: Side, b: Side, path: str) -> tuple[float, float, float] | None:
    """B's figure over A's in each round where both reported it (and A's is not 0): their
    geometric mean, lowest and highest; None when no round has both."""
    ratios = []
    for run_a, run_b in zip(a.runs, b.runs, strict=False):
        va = _get(run_a, path) if run_a is not None else None
        vb = _get(run_b, path) if run_b is not None else None
        if va is not None and vb is not None and va > 0 and vb > 0:
            ratios.append(vb / va)
    if not ratios:
        return None
    return statistics.geometric_mean(ratios), min(ratios), max(ratios)


def _get(data: dict[str, Any], path: str) -> float | None:
    value: Any = data
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def _target_arg(target: str) -> str:
    return "" if target in (".", "") else target


def _run_one(benchmark: str, options: Sequence[str], target: str) -> dict[str, Any] | str:
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "bench", benchmark, *options, "--json",
               "--target", _target_arg(target)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=root, check=False)
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        return f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}"
    return result


def compare(a: str, b: str | Sequence[str], benchmark: str, options: Sequence[str],
            rounds: int) -> str:
    """Run ``benchmark`` ``rounds`` times on each side (A and one or more B), alternating;
    the report, with each B's ratio to A."""
    if benchmark not in FIGURES:
        raise SystemExit(f"bench compare: no figures for {benchmark!r}; one of "
                         f"{', '.join(FIGURES)}")
    others = [b] if isinstance(b, str) else list(b)
    sides = [Side(a), *(Side(t) for t in others)]
    for round_ in range(rounds):
        for side in sides if round_ % 2 == 0 else reversed(sides):
            outcome = _run_one(benchmark, options, side.target)
            if isinstance(outcome, str):
                side.failures.append(outcome)
                side.runs.append(None)
            else:
                side.runs.append(outcome)
                if not outcome.get("ok", True):
                    side.failures.append("a run reported FAILED (lost, repeated or errors)")
            print(f"  round {round_ + 1}: {side.target or '.'} done", file=sys.stderr)
    names = ["A", *(f"B{i + 1}" if len(others) > 1 else "B" for i in range(len(others)))]
    lines = [f"compare {benchmark} {' '.join(options)} ({rounds} rounds, alternating; "
             f"medians, and the paired ratio of each round: geometric mean (lowest-highest))"]
    for side, name in zip(sides, names, strict=True):
        lines.append(f"  {name:<3} {side.target}")
    lines.append(f"  {'figure':<22} {'A':>10}" + "".join(
        f" {n:>10} {n + ' / A':>8} {'paired ' + n + ' / A':>22}" for n in names[1:]))
    for label, path, _lower in FIGURES[benchmark]:
        va = sides[0].median(path)
        row = f"  {label:<22} {va:>10.2f}"
        for side in sides[1:]:
            vb = side.median(path)
            pair = paired(sides[0], side, path)
            shown = "-" if pair is None else f"{pair[0]:.2f} ({pair[1]:.2f}-{pair[2]:.2f})"
            row += f" {vb:>10.2f} {vb / va if va else float('nan'):>8.2f} {shown:>22}"
        lines.append(row)
    for side, name in zip(sides, names, strict=True):
        ok = len(side.results) == rounds and not side.failures
        lines.append(f"  {name:<3} correctness   {'OK' if ok else 'FAILED'}"
                     + "".join(f"\n    {f}" for f in side.failures))
    return "\n".join(lines)
