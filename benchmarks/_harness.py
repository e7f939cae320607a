"""Shared benchmark plumbing: run each contender in its own process, time it, read peak RSS.

Each contender runs as `python SCRIPT --worker NAME ARGS...` in a fresh process, so peak RSS
(ru_maxrss of that child) is its own and JIT caches behave as in a real second run.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def machine() -> str:
    """One line naming the machine the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), which, unlike ru_maxrss, restarts at exec."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_main(
    contenders: dict[str, Callable[..., dict[str, Any] | None]],
    imports: dict[str, Callable[[], None]] | None = None,
) -> None:
    """Inside a child: import what the contender needs (timed apart), run it once, print JSON."""
    name, args = sys.argv[2], sys.argv[3:]
    start = time.perf_counter()
    if imports and name in imports:
        imports[name]()
    import_s = time.perf_counter() - start
    start = time.perf_counter()
    extra = contenders[name](*args) or {}
    seconds = time.perf_counter() - start
    rss = peak_rss_mb()
    print(
        json.dumps(
            {"name": name, "seconds": seconds, "import_s": import_s, "peak_rss_mb": rss, **extra}
        )
    )


def phase_worker(
    contenders: dict[str, tuple[Callable[[], None], Callable[..., dict[str, Any]]]],
    again: Callable[[str, dict[str, Any], list[str]], float | None],
) -> None:
    """Inside a child: import (timed apart), run one contender once, then `again` (the time
    of a second call in the same process, or None), and print JSON with the first call's
    peak RSS. `run` returns its phases (`work_s`, ...); a `_frame` entry is not printed."""
    name, args = sys.argv[2], sys.argv[3:]
    imports, run = contenders[name]
    start = time.perf_counter()
    imports()
    import_s = time.perf_counter() - start
    out = run(*args)
    rss = peak_rss_mb()  # the first call's peak, before any second call
    second = again(name, out, args)
    if second is not None:
        out["again_s"] = second
    out.pop("_frame", None)
    print(json.dumps({"name": name, "import_s": import_s, **out, "peak_rss_mb": rss}))


def run_child(
    script: str, name: str, *args: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run one contender in a fresh process and return its JSON line."""
    proc = subprocess.run(
        [sys.executable, script, "--worker", name, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(script: str, name: str, *args: str, repeat: int = 3, **kw: Any) -> dict[str, Any]:
    """Run a contender `repeat` times; report min and median seconds and the largest peak RSS."""
    runs = [run_child(script, name, *args, **kw) for _ in range(repeat)]
    secs = [r["seconds"] for r in runs]
    out = dict(runs[-1])
    out.update(
        min_s=min(secs),
        median_s=statistics.median(secs),
        peak_rss_mb=max(r["peak_rss_mb"] for r in runs),
        runs=len(runs),
    )
    out.pop("seconds", None)
    return out


def write_results(bench: str, rows: list[dict[str, Any]], meta: dict[str, Any]) -> Path:
    """Append this run's rows as JSON lines to benchmarks/results/BENCH.jsonl."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{bench}.jsonl"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    with open(path, "a") as fh:
        for row in rows:
            fh.write(json.dumps({"bench": bench, "at": stamp, **meta, **row}) + "\n")
    return path


def print_table(rows: list[dict[str, Any]], baseline: str, title: str) -> None:
    """A markdown table with ratios against `baseline` (same run); imports timed apart."""
    base = next(r for r in rows if r["name"] == baseline)
    print(f"\n### {title}\n")
    print(
        f"| contender | min s | median s | vs {baseline} (median) | import s | "
        f"peak RSS MiB | RSS vs {baseline} |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        ratio = r["median_s"] / base["median_s"]
        rss = r["peak_rss_mb"] / base["peak_rss_mb"]
        print(
            f"| {r['name']} | {r['min_s']:.2f} | {r['median_s']:.2f} | {ratio:.2f}x | "
            f"{r.get('import_s', 0.0):.2f} | {r['peak_rss_mb']:.0f} | {rss:.2f}x |"
        )


def run_limited(
    script: str,
    name: str,
    args: list[str],
    env: dict[str, str],
    timeout: float,
    *,
    limit_prefix: str = "pm4py",
    memory_limit: int | None = None,
) -> dict[str, Any]:
    """One contender in a fresh process (address space capped for `limit_prefix` ones)."""

    def limit() -> None:
        if memory_limit is not None and name.startswith(limit_prefix):
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, script, "--worker", name, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout,
        preexec_fn=limit,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed (rc {proc.returncode}):\n{proc.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - start
    return out


def measure_phases(
    run: Callable[[], dict[str, Any]], repeat: int, *, long_s: float
) -> dict[str, Any]:
    """`repeat` runs of `run` (one only if the first takes over `long_s`): min/median of
    `work_s`, medians of the phases and of the optional per-run extras, the largest RSS."""
    runs = [run()]
    while len(runs) < repeat and runs[0]["work_s"] < long_s:
        runs.append(run())
    secs = [r["work_s"] for r in runs]
    out = dict(runs[-1])
    out.update(
        min_s=min(secs),
        median_s=statistics.median(secs),
        peak_rss_mb=max(r["peak_rss_mb"] for r in runs),
        import_s=statistics.median(r["import_s"] for r in runs),
        runs=len(runs),
        phases={k: statistics.median(r["phases"][k] for r in runs) for k in runs[0]["phases"]},
    )
    for key in ("again_s", "read_s", "format_s"):
        if key in out:
            out[key] = statistics.median(r[key] for r in runs)
    out.pop("work_s", None)
    return out
