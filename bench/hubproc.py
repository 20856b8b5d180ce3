"""A hub under test, run as a separate OS process so that its CPU is not the load generator's.

Memory and CPU are read from /proc: peak memory is ``VmHWM`` (summed over the worker
processes when there are several), CPU is ``utime + stime`` of the hub and every process it
started.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import postgres

_TICKS = os.sysconf("SC_CLK_TCK")


def raise_fd_limit() -> int:
    """Raise this process's soft limit on open files to the hard limit (children inherit it);
    returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class HubOptions:
    """How to run the hub: its database and broker, process count and extra options."""

    database_url: str = ""  # empty: a SQLite file in the data folder
    redis_url: str = ""  # empty: the in-process broker
    workers: int = 1
    extra_args: Sequence[str] = ()
    cprofile: str | None = None  # write a cProfile of the hub (one process) to this file

    @property
    def label(self) -> str:
        """A short name of the setup for tables."""
        db = "PostgreSQL" if self.database_url.startswith("postgres") else "SQLite"
        broker = "Redis" if self.redis_url else "memory"
        return f"{db}, {broker} broker, {self.workers} process{'es' if self.workers > 1 else ''}"


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def descendants(pid: int) -> list[int]:
    """Every live process started (directly or not) by ``pid``."""
    result: list[int] = []
    todo = [pid]
    while todo:
        for child in _children(todo.pop()):
            result.append(child)
            todo.append(child)
    return result


def _status_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of one process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS


def _cpu_seconds(pid: int) -> float:
    return sum(_cpu_split(pid))


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class HubProcess:
    """A running ``python -m hub serve``; use :func:`running_hub`."""

    options: HubOptions
    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _log: object = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The processes that serve sockets: the hub itself, or its uvicorn workers."""
        if self.options.workers <= 1:
            return [self.pid]
        return [p for p in descendants(self.pid) if "spawn_main" in _cmdline(p)]

    def peak_memory_kib(self) -> int:
        """Peak resident memory (VmHWM), summed over the serving processes."""
        return sum(_status_kib(p, "VmHWM") for p in self.worker_pids())

    def memory_kib(self) -> int:
        """Resident memory now (VmRSS), summed over the serving processes."""
        return sum(_status_kib(p, "VmRSS") for p in self.worker_pids())

    def cpu_seconds(self) -> float:
        """CPU time used so far by the hub and every process it started."""
        return sum(_cpu_seconds(p) for p in [self.pid, *descendants(self.pid)])

    def system_cpu_seconds(self) -> float:
        """The part of :meth:`cpu_seconds` spent in the kernel (socket calls, mostly)."""
        return sum(_cpu_split(p)[1] for p in [self.pid, *descendants(self.pid)])

    def log_tail(self, lines: int = 30) -> str:
        """The end of the hub's output."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def command(self) -> list[str]:
        opts = self.options
        args = [
            sys.executable,
            *(["-m", "cProfile", "-o", self.options.cprofile] if self.options.cprofile else []),
            "-m", "hub", "serve",
            "--host", self.host, "--port", str(self.port), "--data-dir", str(self.data_dir),
            "--argon2-time-cost", "1", "--argon2-memory-cost", "1024",
            "--command-rate", "0", "--send-queue", "4096", "--log-level", "warning",
            "--access-ttl", "3600", "--prune-interval", "0",
            # The load registers its users from one address and opens more sockets than a
            # public hub's defaults allow.
            "--register-rate", "0", "--limit-concurrency", "0",
        ]
        if opts.database_url:
            args += ["--database-url", opts.database_url]
        if opts.redis_url:
            args += ["--redis-url", opts.redis_url]
        if opts.workers > 1:
            args += ["--workers", str(opts.workers)]
        return args + list(opts.extra_args)

    async def start(self, timeout: float = 60.0) -> None:
        """Start the hub and return once every process answers."""
        raise_fd_limit()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "hub.log"
        log = self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TODOHUB_")}
        root = Path(__file__).resolve().parent.parent
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=str(root),
        )
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the hub exited with {self.process.returncode}:\n"
                                       f"{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the hub did not answer /health in {timeout:g} s:\n"
                                       f"{self.log_tail()}")
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        if self.options.workers > 1:
            await self._wait_workers_settled(deadline)

    async def _wait_workers_settled(self, deadline: float) -> None:
        """Every worker exists and has finished starting (its CPU use has stopped climbing)."""
        last: dict[int, float] = {}
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            now = {p: _cpu_seconds(p) for p in pids}
            if (len(pids) >= self.options.workers and now.keys() == last.keys()
                    and all(now[p] - last[p] < 0.02 for p in pids)):
                return
            last = now
            await asyncio.sleep(0.25)
        raise RuntimeError(f"{self.options.workers} hub workers did not start:\n"
                           f"{self.log_tail()}")

    async def stop(self, timeout: float = 20.0) -> None:
        """Stop the hub gracefully (SIGINT, which lets a cProfile run write its file), or kill
        it after ``timeout`` seconds."""
        process, self.process = self.process, None
        try:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    await asyncio.to_thread(process.wait, timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    await asyncio.to_thread(process.wait)
            elif process is not None:
                process.wait()
        finally:
            if self._log is not None:
                self._log.close()  # type: ignore[attr-defined]
                self._log = None
        self.process = process  # keep pid and returncode readable


@contextlib.asynccontextmanager
async def running_hub(options: HubOptions, data_dir: Path) -> AsyncIterator[HubProcess]:
    """A hub on a free port with a fresh database (a new PostgreSQL database when asked for
    PostgreSQL, dropped afterwards)."""
    database_url = options.database_url
    created: str | None = None
    if database_url.startswith("postgres"):
        created = f"todohub_bench_{uuid.uuid4().hex[:12]}"
        database_url = await postgres.create_database(database_url, created)
        options = dataclasses.replace(options, database_url=database_url)
    hub = HubProcess(options, data_dir, free_port())
    try:
        await hub.start()
        yield hub
    finally:
        try:
            await hub.stop()
        finally:
            if created is not None:
                await postgres.drop_database(options.database_url, created)
