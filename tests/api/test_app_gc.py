"""`tune_gc`: what `journeyminer serve` does to keep collector pauses off the request tail."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from journeyminer.api.app import _FreezeAfterSlowFullCollection, tune_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """Put the collector back as it was: other tests share this process."""
    callbacks = list(gc.callbacks)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.callbacks[:] = callbacks


def test_tune_gc_freezes_what_lives_and_hooks_full_collections_once(restored_gc: None) -> None:
    tune_gc()
    tune_gc()  # a second app in the process adds no second hook
    assert gc.get_freeze_count() > 1000
    hooks = [cb for cb in gc.callbacks if isinstance(cb, _FreezeAfterSlowFullCollection)]
    assert len(hooks) == 1


def test_a_slow_full_collection_freezes_its_survivors_and_a_quick_one_does_not(
    restored_gc: None,
) -> None:
    gc.unfreeze()
    quick = _FreezeAfterSlowFullCollection(slow_s=60.0)
    gc.callbacks.append(quick)
    gc.collect()
    assert gc.get_freeze_count() == 0
    gc.callbacks.remove(quick)
    gc.callbacks.append(_FreezeAfterSlowFullCollection(slow_s=0.0))
    gc.collect(1)  # not a full collection: nothing frozen
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gc.get_freeze_count() > 1000


def test_the_hook_stops_freezing_after_its_budget(restored_gc: None) -> None:
    gc.unfreeze()
    hook = _FreezeAfterSlowFullCollection(slow_s=0.0, max_freezes=1)
    gc.callbacks.append(hook)
    gc.collect()
    assert gc.get_freeze_count() > 1000 and hook.left == 0
    gc.unfreeze()
    gc.collect()
    assert gc.get_freeze_count() == 0
