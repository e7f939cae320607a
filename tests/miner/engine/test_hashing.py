"""Partitions of ids: the stable hash read straight from a polars column's Arrow buffers."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.engine.hashing import part_of_keys, utf8_buffers
from journeyminer.miner.engine.parts import split_log
from tests import naive
from tests.strategies import log_from_rows

IDS = ["C000001", "C000002", "ü-1", "", "案件7", "ck_0005deece66d"]


def test_the_partitions_of_known_ids_never_change() -> None:
    # Stored datasets rely on these: an append must find a customer's partition again.
    assert part_of_keys(pl.Series(IDS), 8).tolist() == [6, 0, 2, 6, 4, 0]
    assert part_of_keys(pl.Series(IDS), 1000).tolist() == [630, 464, 938, 342, 404, 416]


@given(st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=30), st.integers(1, 50))
def test_any_column_partitions_as_the_naive_hash_of_its_text(
    ids: list[str | None], n_parts: int
) -> None:
    got = part_of_keys(pl.Series(ids, dtype=pl.String), n_parts).tolist()
    assert got == [naive.hash_partition(i or "", n_parts) for i in ids]


def test_slices_and_chunked_columns_hash_their_own_values() -> None:
    whole = pl.Series(IDS)
    chunked = pl.concat([whole.slice(0, 2), whole.slice(2)], rechunk=False)
    assert chunked.n_chunks() == 2
    expected = [naive.hash_partition(i, 5) for i in IDS]
    assert part_of_keys(chunked, 5).tolist() == expected
    assert part_of_keys(whole.slice(3), 5).tolist() == expected[3:]
    offsets, data = utf8_buffers(whole.slice(2, 2))
    assert bytes(data[offsets[0] : offsets[-1]]) == "ü-1".encode()


def test_categorical_ids_hash_as_their_text() -> None:
    assert part_of_keys(pl.Series(IDS, dtype=pl.Categorical), 8).tolist() == [6, 0, 2, 6, 4, 0]


def test_the_engines_in_memory_split_uses_the_same_stable_hash() -> None:
    log = log_from_rows([(case, "a", 1, None) for case in IDS])
    parts = split_log(log, 8)
    where = {c: i for i in range(8) for c in parts.load(i).case_names.to_list()}
    assert [where[c] for c in IDS] == part_of_keys(pl.Series(IDS), 8).tolist()
