"""The wheel installs one import namespace: journeyminer.miner, .kernels, .api; nothing else."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.packaging


@pytest.mark.slow
def test_wheel_holds_only_the_journeyminer_namespace(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("journeyminer-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"journeyminer", next(t for t in tops if t.endswith(".dist-info"))}
    for module in ("miner/log.py", "kernels/dfg.py", "api/cli/main.py", "_version.py"):
        assert f"journeyminer/{module}" in names
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"journeyminer = journeyminer.api.cli.main:main" in entry


def test_editable_install_imports_the_layers_under_one_namespace() -> None:
    import journeyminer.api.cli.main
    import journeyminer.kernels.dfg
    import journeyminer.miner.log

    for module in (journeyminer.miner.log, journeyminer.kernels.dfg, journeyminer.api.cli.main):
        assert Path(module.__file__ or "").resolve().is_relative_to(ROOT)
    import site

    for folder in site.getsitepackages():
        for bare in ("api", "miner", "kernels"):
            assert not (Path(folder) / bare).exists(), f"bare top-level {bare!r} in site-packages"
