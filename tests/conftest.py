"""Shared fixtures: small logs built in code."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import polars as pl
import pytest
from hypothesis import HealthCheck, settings

from journeyminer.miner.log import EventLog

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def dev_dependency(module: str) -> ModuleType:
    """Import a module that parity and drift tests compare against; fail, never skip, when it
    is missing, so that a CI without it goes red instead of quietly testing less."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        how = "pip install -e '.[dev]'"
        if top == "scipy":  # not in the dev extra itself: pm4py brings it
            need = "scipy comes with pm4py, a dev dependency"
        else:
            need = f"{top} is a dev dependency"
        pytest.fail(f"{need}: {how} ({exc})", pytrace=False)


@pytest.fixture
def scipy_stats() -> ModuleType:
    """scipy.stats, for tests that hold our statistics to scipy's; fails when it is missing."""
    return dev_dependency("scipy.stats")


@pytest.fixture
def tiny_log() -> EventLog:
    """Three cases with equal timestamps, a single-event case and unicode names."""
    frame = pl.DataFrame(
        {
            "case": ["c1", "c1", "c1", "c2", "c2", "c3"],
            "act": ["ad_click", "product_page", "checkout", "ad_click", "étape ✓", "ad_click"],
            "ts": [
                "2024-03-31T01:59:00+01:00",
                "2024-03-31T03:00:00+02:00",
                "2024-03-31T03:00:00+02:00",
                "2024-01-01T10:00:00Z",
                "2024-01-02T10:00:00Z",
                "2024-01-01T00:00:00Z",
            ],
        }
    )
    return EventLog.from_frame(frame, case="case", activity="act", timestamp="ts")
