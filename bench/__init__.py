"""Benchmarks of the hub, run by hand (``python -m bench --help``); not tests.

- ``fanout``: latency and loss of live changes across a user's devices;
- ``connections``: memory per idle socket and the time to open them;
- ``throughput``: persisted commands per second.

Each benchmark starts its own hub as a separate process, and is also a function returning a
result dataclass, which the smoke tests in tests/bench call with tiny numbers.
"""
