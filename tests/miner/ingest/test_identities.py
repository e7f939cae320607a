"""The identity table check: checked a bucket of source ids at a time, it finds the same
conflicts (the first by table order in the message) and keeps the same rows as in one piece."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeyminer.miner.errors import IdentityError
from journeyminer.miner.ingest import identities
from journeyminer.miner.ingest.identities import check_identities

ROWS = st.lists(
    st.tuples(
        st.sampled_from(["ck1", "ck2", "+316", "CRM-1", "", " x"]),
        st.sampled_from(["C1", "C2", "C3", ""]),
    ),
    max_size=40,
)


def checked(table: pl.DataFrame) -> pl.DataFrame | str:
    try:
        return check_identities(table, file="ids.csv")
    except IdentityError as exc:
        return str(exc)


@settings(max_examples=60, deadline=None)
@given(rows=ROWS)
def test_checking_in_buckets_equals_checking_in_one_piece(rows: list[tuple[str, str]]) -> None:
    table = pl.DataFrame(
        {"source_id": [s for s, _ in rows], "customer_id": [c for _, c in rows]},
        schema={"source_id": pl.String, "customer_id": pl.String},
    )
    with pytest.MonkeyPatch.context() as patch:
        whole = checked(table)
        patch.setattr(identities, "CHECK_ROWS", 3)
        bucketed = checked(table)
    if isinstance(whole, str):
        assert bucketed == whole
    else:
        assert isinstance(bucketed, pl.DataFrame)
        assert bucketed.equals(whole)
