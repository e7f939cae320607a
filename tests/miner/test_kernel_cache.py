"""Kernels compiled ahead: the warm-up steps compile exactly what the miner runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core.registry import CPUDispatcher

from journeyminer.kernels import cases, dfg, moments, replay, stats, variants
from journeyminer.kernels.warm import GROUPS, warm
from journeyminer.miner import kernel_cache
from journeyminer.miner.compare.to_map import compare_to_map
from journeyminer.miner.discover.discovery import discover
from journeyminer.miner.log import EventLog
from tests.strategies import shop_map


def signatures() -> dict[str, list[object]]:
    """Every kernel's compiled signatures in this process, by name."""
    return {
        f"{module.__name__}.{name}": list(kernel.signatures)
        for module in (cases, dfg, moments, replay, stats, variants)
        for name, kernel in vars(module).items()
        if isinstance(kernel, CPUDispatcher)
    }


def test_warming_every_group_compiles_nothing_the_miner_did_not(tiny_log: EventLog) -> None:
    discover(tiny_log)
    discover(tiny_log, parts=3)  # the engine's kernels, pass 2 included
    compare_to_map(tiny_log, shop_map())
    before = signatures()
    for group in GROUPS:
        warm(group)
    after = signatures()
    new = {name: sigs for name, sigs in after.items() if sigs != before[name]}
    assert new == {}, "a warm-up step's argument types differ from the miner's"


def test_compile_ahead_does_nothing_on_a_filled_cache(tiny_log: EventLog) -> None:
    discover(tiny_log)
    assert kernel_cache.compile_ahead("discovery") is False


def test_compile_ahead_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("journeyminer.kernels.cached.is_cached", lambda group: False)
    monkeypatch.setenv("JOURNEYMINER_COMPILE_AHEAD", "0")
    assert kernel_cache.compile_ahead("discovery") is False


@pytest.mark.slow
def test_mine_on_an_empty_jit_cache_answers_as_on_a_filled_one(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "case,act,ts\n"
        "c1,visit,2024-03-01T10:00:00Z\nc1,buy,2024-03-01T10:05:00Z\n"
        "c2,visit,2024-03-02T09:00:00Z\nc2,visit,2024-03-02T09:01:00Z\n"
    )
    cmd = [
        sys.executable,
        "-c",
        "from journeyminer.api.cli.main import main; main()",
        "mine",
        str(log),
        *("--case", "case", "--activity", "act", "--timestamp", "ts", "--json"),
    ]
    cache = tmp_path / "numba-cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert len(list(cache.rglob("*.nbi"))) >= 9  # mine's kernels, compiled by two processes
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert json.loads(first.stdout) == json.loads(again.stdout)


def test_warming_in_the_background_loads_discovery_and_comparison_kernels() -> None:
    kernel_cache.warm_in_background().join(timeout=300)
    loaded = signatures()
    assert loaded["journeyminer.kernels.moments._summarize_dense"]
    assert loaded["journeyminer.kernels.replay._replay"]
