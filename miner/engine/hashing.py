"""The partition of a customer or case id: a stable hash of its UTF-8 bytes.

Stable means the same in every run, process and polars version (polars' own `hash` promises
none of that), because an append must find the partition of a customer stored long ago. The
rule is named in every dataset's manifest (`HASH_RULE`); the bytes are hashed by
`kernels.hashing` straight from the column's Arrow buffers, with no Python string per id.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from ...kernels.hashing import hash_partitions

HASH_RULE = "fnv1a64-fmix64"  # kernels.hashing.hash_partitions; change it only with a new name


def part_of_keys(keys: pl.Series, n_parts: int) -> np.ndarray:
    """int64[len(keys)]: the partition (0..n_parts-1) of each id (a null hashes as "")."""
    if n_parts < 1:
        raise ValueError(f"n_parts must be at least 1, found {n_parts}")
    if n_parts == 1 or keys.len() == 0:
        return np.zeros(keys.len(), dtype=np.int64)
    offsets, data = utf8_buffers(keys)
    return hash_partitions(offsets, data, n_parts)


def utf8_buffers(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The Arrow layout of a string column: int64 offsets[n + 1] into uint8 UTF-8 bytes.

    Zero-copy where the column is one large_string chunk (polars' usual export); other layouts
    (several chunks, string, string_view) are combined and cast first. Nulls span no bytes.
    """
    arrow: pa.Array | pa.ChunkedArray = values.cast(pl.String).to_arrow()
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks() if arrow.num_chunks else pa.array([], pa.large_string())
    if arrow.type != pa.large_string():
        arrow = arrow.cast(pa.large_string())
    if arrow.null_count:
        arrow = arrow.fill_null("")
    _, offset_buf, data_buf = arrow.buffers()
    n = len(arrow)
    offsets = np.frombuffer(offset_buf, dtype=np.int64)[arrow.offset : arrow.offset + n + 1]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    return offsets, data
