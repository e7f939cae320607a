"""Memory of the cold path does not grow with the log: `generate` writes chunk by chunk and an
ingest into a dataset holds a batch or one partition. Peak RSS measured in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

GENERATE = """
import resource, sys
from journeyminer.miner.synthetic.generate import generate
generate(sys.argv[1], events=int(sys.argv[2]), seed=3)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
INGEST = """
import resource, sys
from pathlib import Path
from journeyminer.miner.ingest.pipeline import resolve_source
from journeyminer.miner.ingest.to_dataset import ingest_to_dataset
src = Path(sys.argv[1])
specs = [resolve_source(f"{src / k}.csv={k}", timezone="Europe/Amsterdam")
         for k in ("web", "call_center", "crm")]
ingest_to_dataset(specs, sys.argv[2], n_parts=int(sys.argv[3]), batch_events=250_000,
                  identities=src / "identities.csv", customers=src / "customers.csv")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_kb(script: str, *args: object) -> int:
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1])


def test_generate_and_ingest_peak_memory_does_not_grow_with_the_events(tmp_path: Path) -> None:
    small, big = tmp_path / "small", tmp_path / "big"
    gen = [peak_kb(GENERATE, small, 1_000_000), peak_kb(GENERATE, big, 4_000_000)]
    # Partitions of about 250,000 events at both sizes: the same partition, 4x the log.
    ing = [
        peak_kb(INGEST, small, tmp_path / "small.log", 4),
        peak_kb(INGEST, big, tmp_path / "big.log", 16),
    ]
    assert gen[1] < 1.25 * gen[0], gen
    assert ing[1] < 1.4 * ing[0], ing
