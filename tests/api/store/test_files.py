"""The workspace's files on disk (`api/store/files.py`): removal through the trash, and the
sweep that keeps referenced and young files and takes the rest."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from journeyminer.api.store.files import remove_files, sweep_files


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for sub in ("logs", "results", "trash"):
        (tmp_path / sub).mkdir()
    return tmp_path


def _file(root: Path, rel: str, *, age_s: float = 0.0) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    if age_s:
        then = time.time() - age_s
        os.utime(path, (then, then))
        os.utime(path.parent, (then, then))
    return path


def test_removing_goes_through_the_trash_and_leaves_it_empty(root: Path) -> None:
    part = _file(root, "logs/log_a/part-1.parquet")
    result = root / "results" / "res_a"
    _file(root, "results/res_a/result.json")
    remove_files(root, [part, result, root / "logs" / "never-there.parquet"])
    assert not part.exists() and not result.exists()
    assert list((root / "trash").iterdir()) == []
    assert (root / "logs" / "log_a").is_dir()  # only what was named goes


def test_removing_without_the_trash_deletes_in_place(root: Path) -> None:
    folder = root / "results" / "res_b"
    _file(root, "results/res_b/a.json")
    remove_files(root, [folder, root / "results" / "missing"], via_trash=False)
    assert not folder.exists()


def test_the_sweep_takes_the_trash_and_old_unreferenced_files_only(root: Path) -> None:
    hour = 3600.0
    kept = _file(root, "logs/log_a/part-1.parquet", age_s=2 * hour)
    orphan = _file(root, "logs/log_a/part-2.parquet", age_s=2 * hour)
    young = _file(root, "logs/log_a/part-3.parquet")
    old_result = _file(root, "results/res_x/result.json", age_s=2 * hour)
    (root / "trash" / "t1").mkdir()
    _file(root, "trash/t1/big.parquet")
    _file(root, "trash/t2")
    removed = sweep_files(root, hour, lambda: {"logs/log_a/part-1.parquet"})
    assert kept.exists() and young.exists()
    assert not orphan.exists() and not old_result.exists()
    assert list((root / "trash").iterdir()) == []
    assert set(removed) == {root / "trash" / "t1", root / "trash" / "t2", orphan, old_result}


def test_the_sweep_removes_old_empty_folders_but_not_young_or_full_ones(root: Path) -> None:
    empty_old = root / "logs" / "log_gone"
    empty_young = root / "logs" / "log_new"
    empty_old.mkdir()
    empty_young.mkdir()
    then = time.time() - 7200
    os.utime(empty_old, (then, then))
    _file(root, "results/res_full/a.json", age_s=7200)
    sweep_files(root, 3600, lambda: {"results/res_full/a.json"})
    assert not empty_old.exists() and empty_young.exists()
    assert (root / "results" / "res_full" / "a.json").exists()


def test_a_sweep_without_grace_takes_every_unreferenced_file(root: Path) -> None:
    _file(root, "logs/log_a/part-1.parquet")
    removed = sweep_files(root, 0, set)
    assert removed == [root / "logs" / "log_a" / "part-1.parquet"]
