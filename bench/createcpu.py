"""The hub's CPU per create, in this process, without the network: the whole write path of
``bench fanout`` from a create's frame to its ack on the sending device and its change on
the user's other device, with each socket's transport a recorder, so that neither the kernel
nor a load generator shares the count and a change of a few microseconds shows.

A hub is started to register the users, then stopped; its data folder is opened here with
the hub's application under uvicorn's protocols (``bench.hellocpu.in_process``). Each user
has two synced devices. In waves of ``concurrency`` users, device a of each sends a create;
the loop runs until every create of the wave is acked on device a and its change is on
device b. ``time.process_time`` over the waves, after the first tenth, is the CPU per
create. ``python -m bench.createcpu [--users N] [--concurrency N] [--rounds N]
[--profile FILE.prof]``

``--concurrency 1`` (the default) is one create at a time, as in ``bench fanout`` at
1,000 creates/s, whose groups hold 1.1 commands on average.
"""

from __future__ import annotations

import argparse
import cProfile
import statistics
import sys
import time
from pathlib import Path

from bench.handshake import Transport
from bench.hellocpu import (
    InProcess,
    client_frame,
    hello_frame,
    in_process,
    run_in_folder,
    until,
)


async def _devices(served: InProcess, tokens: list[str]) -> list[tuple[Transport, Transport]]:
    """Two synced devices per user."""
    hub = served.hub
    pairs = []
    for token in tokens:
        head = await hub.catchup.head(hub.issuer.verify(token).user_id)
        pair = (served.open(), served.open())
        await until(lambda: all(t.written for t in pair))
        for device, transport in zip("ab", pair, strict=True):
            transport.protocol.data_received(hello_frame(token, head, device))
        await until(lambda: all(b'"synced"' in b"".join(t.written) for t in pair))
        for transport in pair:
            transport.written.clear()
        pairs.append(pair)
    return pairs


async def cpu_per_create(users: int, concurrency: int, rounds: int, profile: str | None,
                         data_dir: Path) -> list[float]:
    """CPU microseconds per create of each wave after the first tenth; raises RuntimeError
    when a create of a wave is not acked or its change does not reach the other device."""
    if concurrency > users:
        # A wave's creates come from different users, or one ack would pass for two.
        raise ValueError("concurrency must not exceed users")
    async with in_process(data_dir, users, 0) as (served, tokens):
        pairs = await _devices(served, tokens)
        # The frames are made before the clock runs: encoding them is the client's work.
        creates = [[client_frame({"type": "create", "id": f"op-w{wave}n{n}",
                                  "todo": {"title": f"w{wave}n{n}"}})
                    for n in range(concurrency)] for wave in range(rounds)]
        profiler = cProfile.Profile() if profile else None
        times: list[float] = []
        for wave, frames in enumerate(creates):
            if profiler and wave == rounds // 10:
                profiler.enable()
            began = time.process_time()
            sent: list[tuple[Transport, Transport, bytes]] = []
            for n, frame in enumerate(frames):
                a, b = pairs[(wave * concurrency + n) % len(pairs)]
                a.protocol.data_received(frame)
                sent.append((a, b, f'"w{wave}n{n}"'.encode()))
            await until(lambda: all(
                b'"ack"' in b"".join(a.written) and title in b"".join(b.written)
                for a, b, title in sent))
            times.append((time.process_time() - began) / concurrency * 1e6)
            for a, b, _ in sent:
                a.written.clear()
                b.written.clear()
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(profile)
        await served.drop([t for pair in pairs for t in pair])
        return times[rounds // 10:]


def main(argv: list[str] | None = None) -> int:
    """Run the waves and print the CPU per create."""
    parser = argparse.ArgumentParser(prog="python -m bench.createcpu")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=4000, help="waves")
    parser.add_argument("--profile", metavar="FILE.prof", default=None)
    args = parser.parse_args(argv)
    times = run_in_folder(lambda data_dir: cpu_per_create(
        args.users, args.concurrency, args.rounds, args.profile, data_dir))
    print(f"create: {args.rounds} waves of {args.concurrency} creates in process, 2 devices "
          f"a user, CPU per create median {statistics.median(times):.1f} us, "
          f"mean {statistics.fmean(times):.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
