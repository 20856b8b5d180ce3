"""Telling glibc's allocator to give freed memory back to the system.

Every thread that allocates gets a malloc arena of its own (up to 8 per core), and memory
freed in an arena stays with it: argon2's ~19 MiB per hash and the buffers of sockets that
have closed kept a hub at three times its starting size long after the load left. Bounding
the arenas at start and trimming after bursts of hashing returns that memory. Elsewhere
(musl, macOS) these are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("todohub.allocator")

M_ARENA_MAX = -8  # glibc's mallopt parameters
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 (present only in glibc)
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def limit_arenas(count: int) -> None:
    """Let the allocator use at most ``count`` arenas (0: leave glibc's default)."""
    if _LIBC is None or count <= 0:
        return
    if _LIBC.mallopt(M_ARENA_MAX, count) != 1:
        log.warning("mallopt(M_ARENA_MAX, %d) was refused", count)
    # Blocks of a MiB and more (argon2's memory) come from mmap and go back when freed;
    # glibc would otherwise raise this threshold after the first such free and keep them.
    if _LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        log.warning("mallopt(M_MMAP_THRESHOLD) was refused")


def trim() -> None:
    """Hand freed memory at the top and inside of every arena back to the system."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
