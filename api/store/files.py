"""The workspace's files on disk: durable renames, removal through the trash, the sweep.

A file is written under a fresh name, and its folder synced, before the one transaction
that references it commits; it is removed only after the transaction that dropped its
last reference. A crash in between leaves an unreferenced file, which `sweep_files`
removes once it is older than a grace period.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path

#: Owner-only: the workspace holds every tenant's data (issue 14).
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def private_dir(path: Path) -> Path:
    """Make `path` (and missing parents up to an existing folder) owner-only (0700)."""
    missing = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        # mode= is masked by the umask, which can only remove bits: 0700 or less.
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty and owner-only (0600) if missing, else make it owner-only."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        os.chmod(path, PRIVATE_FILE)
    return path


def private_tree(folder: Path) -> Path:
    """Make a folder written by other code (a dataset) and everything in it owner-only."""
    os.chmod(folder, PRIVATE_DIR)
    for path in folder.rglob("*"):
        os.chmod(path, PRIVATE_DIR if path.is_dir() else PRIVATE_FILE)
    return folder


def fsync_dir(path: Path) -> None:
    """Sync a folder, so that a rename inside it survives a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_files(root: Path, paths: Sequence[Path], *, via_trash: bool = True) -> None:
    """Delete files or folders no row references any more, through `root`'s trash folder."""
    for path in paths:
        target = path
        if via_trash:
            # One rename takes it out of the tree at once; should a crash cut the deletion
            # short, the next sweep empties the trash.
            target = root / "trash" / secrets.token_hex(8)
            try:
                os.replace(path, target)
            except FileNotFoundError:
                continue
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            with suppress(FileNotFoundError):
                target.unlink()


def sweep_files(root: Path, grace_s: float, referenced: Callable[[], set[str]]) -> list[Path]:
    """Remove the trash, temp files and unreferenced files older than `grace_s` seconds.

    `referenced()` gives the workspace-relative paths the database refers to: files, or
    folders (a log's stitched journeys), whose files are all referenced with them.
    """
    cutoff = time.time() - grace_s
    removed: list[Path] = []
    for entry in list((root / "trash").iterdir()):
        remove_files(root, [entry], via_trash=False)
        removed.append(entry)
    # List files before reading the references: a file committed in between is then
    # seen as referenced, never swept by mistake.
    candidates = [p for top in ("logs", "results") for p in (root / top).rglob("*") if p.is_file()]
    references = referenced()
    for path in candidates:
        rel = path.relative_to(root).as_posix()
        with suppress(FileNotFoundError):
            if not _referenced(rel, references) and path.stat().st_mtime <= cutoff:
                path.unlink()
                removed.append(path)
    for top in ("logs", "results"):
        # Deepest first: a folder emptied above (a dataset left by a crash) goes too.
        folders = sorted((p for p in (root / top).rglob("*") if p.is_dir()), reverse=True)
        for folder in folders:
            with suppress(OSError):
                if folder.stat().st_mtime <= cutoff and not any(folder.iterdir()):
                    folder.rmdir()
    return removed


def _referenced(rel: str, references: set[str]) -> bool:
    """Whether the file `rel` or a folder above it is referenced."""
    if rel in references:
        return True
    parts = rel.split("/")
    return any("/".join(parts[:n]) in references for n in range(2, len(parts)))
