"""Kernels ready before they are needed: compiled on two cores when numba's cache is empty
(a command's first run), and loaded in the background when a server starts.

On an empty cache, compiling is most of a short command's first run (`mine` ~8 s on one core
of the 2-core bench machine). `compile_ahead` then starts one helper process that compiles
part of the command's kernels (`python -m journeyminer.kernels.warm GROUP 1`) while this
process compiles the rest, and waits for it; numba writes each compiled kernel to its cache
(atomically), and the command then loads them all from there. Results do not change: the
same kernels are compiled for the same argument types, only in two processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Literal

KernelGroup = Literal["discovery", "comparison", "compare"]


def compile_ahead(group: KernelGroup) -> bool:
    """When numba's cache lacks the kernels of `group`, compile them now on two cores; else do
    nothing (also on one core, or with JOURNEYMINER_COMPILE_AHEAD=0). Returns whether it did.

    A helper process compiles one part of the group while this process compiles the other;
    this returns once both are done, and the command then loads every kernel from the cache.
    The check reads a few file names. Should the helper fail, the command compiles what is
    missing at first use, as without this.
    """
    if (
        (os.cpu_count() or 1) < 2
        or os.environ.get("JOURNEYMINER_COMPILE_AHEAD", "1") == "0"
        or os.environ.get("NUMBA_DISABLE_JIT", "0") != "0"
    ):
        return False
    from ..kernels.cached import is_cached

    if is_cached(group):
        return False
    helper = subprocess.Popen(
        [sys.executable, "-m", "journeyminer.kernels.warm", group, "1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from ..kernels.warm import warm

        warm(group, part=0)
    except BaseException:  # e.g. Ctrl-C: the helper goes too
        helper.kill()
        raise
    finally:
        helper.wait()
    return True


def warm_in_background() -> threading.Thread:
    """Load (or compile) the discovery and comparison kernels in a daemon thread: a server
    calls this at start-up so that its first analyses do not pay numba's loading."""

    def load() -> None:
        from ..kernels.warm import warm

        warm("discovery")
        warm("comparison")

    thread = threading.Thread(target=load, name="journeyminer-warm-kernels", daemon=True)
    thread.start()
    return thread
