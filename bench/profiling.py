"""Profiling the hub during a benchmark's timed part: py-spy attached to the hub process.

``FILE.svg`` gives a flamegraph, ``FILE.json`` speedscope, any other name collapsed stacks
(one line per stack with its sample count). Only samples that hold the GIL are kept, so the
profile shows where the hub's Python time goes, not where it waits. ``FILE.prof`` is handled
by the hub process itself (it runs under cProfile for its whole life; see HubOptions).
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess


class Profiler:
    """py-spy recording one process (and its children) until stopped."""

    def __init__(self, pid: int, path: str, subprocesses: bool = False) -> None:
        if shutil.which("py-spy") is None:
            raise SystemExit("bench: --profile needs py-spy (pip install py-spy)")
        fmt = ("flamegraph" if path.endswith(".svg")
               else "speedscope" if path.endswith(".json") else "raw")
        args = ["py-spy", "record", "--pid", str(pid), "--rate", "250", "--nonblocking",
                "--gil", "--format", fmt, "--output", path]
        if subprocesses:
            args.append("--subprocesses")
        self.path = path
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)

    async def started(self) -> None:
        """Give py-spy a moment to attach before the timed part begins."""
        await asyncio.sleep(0.5)

    async def stop(self) -> str | None:
        """Stop recording and write the file; returns py-spy's complaint when it failed."""
        process = self._process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            _, err = await asyncio.to_thread(process.communicate, None, 60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = await asyncio.to_thread(process.communicate)
        if process.returncode not in (0, -signal.SIGINT):
            return f"py-spy failed: {err.decode(errors='replace').strip()[-300:]}"
        return None


def is_cprofile(path: str | None) -> bool:
    """Whether ``path`` asks for cProfile of the hub rather than py-spy."""
    return bool(path) and str(path).endswith(".prof")
