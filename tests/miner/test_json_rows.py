"""Large tables in JSON a slice at a time: the same text as json.dumps of all rows."""

from __future__ import annotations

import io
import json
from datetime import datetime

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from journeyminer.miner.json_rows import FrameRows, write_json


def _frame(rows: list[tuple[str | None, list[str], float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "name": [r[0] for r in rows],
            "activities": [r[1] for r in rows],
            "value": [r[2] for r in rows],
        },
        schema={"name": pl.String, "activities": pl.List(pl.String), "value": pl.Float64},
    )


ROWS = st.lists(
    st.tuples(
        st.one_of(st.none(), st.text(max_size=5)),
        st.lists(st.text(max_size=4), max_size=3),
        st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    ),
    max_size=40,
)


@given(ROWS, st.integers(1, 7))
def test_the_text_equals_json_dumps_of_all_rows(rows, slice_rows) -> None:  # type: ignore[no-untyped-def]
    frame = _frame(rows)
    data = {"n": len(rows), "rows": FrameRows(frame, slice_rows), "tail": [1, {"x": "é"}]}
    plain = {"n": len(rows), "rows": frame.to_dicts(), "tail": [1, {"x": "é"}]}
    out = io.StringIO()
    write_json(data, out)
    assert out.getvalue() == json.dumps(plain, indent=2, ensure_ascii=False)
    assert list(data["rows"]) == frame.to_dicts()


def test_default_applies_inside_rows_and_nothing_is_lost_at_slice_edges() -> None:
    frame = pl.DataFrame({"at": [datetime(2024, 3, 1, 10), None, datetime(2024, 3, 2)]})
    out = io.StringIO()
    write_json([FrameRows(frame, 2)], out, default=str)
    assert json.loads(out.getvalue()) == [
        [{"at": "2024-03-01 10:00:00"}, {"at": None}, {"at": "2024-03-02 00:00:00"}]
    ]


def test_an_empty_frame_is_an_empty_array() -> None:
    out = io.StringIO()
    write_json({"rows": FrameRows(pl.DataFrame({"a": []}))}, out)
    assert out.getvalue() == '{\n  "rows": []\n}'
