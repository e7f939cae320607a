"""`warm_kernels`: a server app loads the miner's kernels in the background at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from journeyminer.api.app import create_app
from journeyminer.api.settings import Settings


def test_only_a_server_app_starts_loading_the_kernels_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[bool] = []
    monkeypatch.setattr(
        "journeyminer.miner.kernel_cache.warm_in_background", lambda: started.append(True)
    )
    settings = Settings(workspace=tmp_path / "ws")
    with TestClient(create_app(settings, warm_kernels=True)):
        assert started == [True]
    with TestClient(create_app(settings)):
        assert started == [True]
