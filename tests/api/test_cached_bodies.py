"""Results from memory: ETag and If-None-Match (304), gzip when the client accepts it."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest
from starlette.datastructures import Headers

from journeyminer.api.cached_bodies import BodyCache, accepts_gzip, etag_matches

from .conftest import API, Api

PLAIN = {"Accept-Encoding": "identity"}


def _result_url(api: Api) -> str:
    log_id = api.ingest("web", identities=False)
    queued = api.client.post(f"{API}/analyses", json={"log": log_id, "kind": "discover"})
    done = api.wait(queued.json()["status_url"])
    assert done["status"] == "done", done
    return str(done["links"]["result"])


@pytest.mark.parametrize("hot_reads", [True, False])
def test_a_result_has_an_etag_and_if_none_match_answers_an_empty_304(
    api: Api, hot_reads: bool
) -> None:
    api.app.state.hot_reads = hot_reads
    url = _result_url(api)
    first = api.client.get(url, headers=PLAIN)
    assert first.status_code == 200 and "content-encoding" not in first.headers
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["vary"] == "Accept-Encoding"
    assert api.client.get(url, headers=PLAIN).content == first.content

    for sent in (etag, f"W/{etag}", f'"stale", {etag}', "*"):
        again = api.client.get(url, headers={**PLAIN, "If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.content == b"" and again.headers["etag"] == etag
        assert again.headers.get("x-request-id")
    stale = api.client.get(url, headers={**PLAIN, "If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.content == first.content


@pytest.mark.parametrize("hot_reads", [True, False])
def test_a_client_that_accepts_gzip_gets_the_result_compressed_under_its_own_etag(
    api: Api, hot_reads: bool
) -> None:
    api.app.state.hot_reads = hot_reads
    url = _result_url(api)
    plain = api.client.get(url, headers=PLAIN)
    with api.client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as packed:
        raw = b"".join(packed.iter_raw())
    assert packed.status_code == 200 and packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert int(packed.headers["content-length"]) == len(raw) < len(plain.content) / 3
    assert json.loads(gzip.decompress(raw)) == plain.json()
    etag = packed.headers["etag"]
    assert etag != plain.headers["etag"]

    gz = {"Accept-Encoding": "gzip, deflate"}
    assert api.client.get(url, headers={**gz, "If-None-Match": etag}).status_code == 304
    # The plain representation's ETag does not name the gzipped one, and the other way round.
    other = api.client.get(url, headers={**gz, "If-None-Match": plain.headers["etag"]})
    assert other.status_code == 200 and other.headers["content-encoding"] == "gzip"
    refused = api.client.get(url, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers and refused.content == plain.content


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("deflate, GZIP;q=0.5", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("br, deflate", False),
        ("gzip;q=0", False),
        ("gzip; q=0.0, deflate", False),
        ("*;q=0, gzip", True),
        ("gzip;q=0, *", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding_allows_gzip_when_named_or_starred_with_q_above_zero(
    header: str, accepted: bool
) -> None:
    assert accepts_gzip(header) is accepted


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ("", False),
        ('"abd"', False),
        ("abc", False),
    ],
)
def test_if_none_match_compares_etags_weakly(header: str, matches: bool) -> None:
    assert etag_matches(header, '"abc"') is matches


def test_the_body_cache_forgets_the_least_recently_used_beyond_its_size(tmp_path: Path) -> None:
    files = []
    for name in "abc":
        files.append(tmp_path / f"{name}.json")
        files[-1].write_bytes(name.encode() * 400)
    big = tmp_path / "big.json"
    big.write_bytes(b"x" * 2000)
    cache = BodyCache(max_file=1000, max_total=1000)

    async def run() -> None:
        a, b, c = files

        async def data(path: Path) -> bytes | None:
            body = await cache.get(path)
            return None if body is None else body.data

        assert await data(a) == a.read_bytes() and await data(b) == b.read_bytes()
        assert list(cache._data) == [a, b]
        assert await data(a) == a.read_bytes()  # a is now the most recently used
        assert list(cache._data) == [b, a]
        assert await data(c) == c.read_bytes()  # 1,200 bytes: b goes
        assert list(cache._data) == [a, c]
        assert await cache.get(big) is None  # over max_file: never cached
        assert list(cache._data) == [a, c]

    asyncio.run(run())


def test_gzipped_bytes_count_towards_the_cache_size_once(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(json.dumps({"rows": list(range(2000))}).encode())
    cache = BodyCache()
    accepts = Headers({"accept-encoding": "gzip"})

    async def run() -> None:
        first, second = await asyncio.gather(
            cache.respond(path, accepts, "application/json"),
            cache.respond(path, accepts, "application/json"),
        )
        assert first is not None and second is not None
        assert first.status_code == second.status_code == 200
        assert first.headers["content-encoding"] == "gzip"
        assert first.body == second.body and gzip.decompress(first.body) == path.read_bytes()
        assert cache._size == path.stat().st_size + len(first.body)

    asyncio.run(run())


def test_prune_forgets_the_bodies_of_deleted_files(tmp_path: Path) -> None:
    cache = BodyCache()
    kept, gone = tmp_path / "kept.json", tmp_path / "gone.json"
    kept.write_bytes(b"k" * 100)
    gone.write_bytes(b"g" * 300)
    asyncio.run(cache.get(kept))
    asyncio.run(cache.get(gone))
    gone.unlink()
    assert cache.prune() == 1
    assert list(cache._data) == [kept] and cache._size == 100


def test_deleting_a_log_drops_its_result_bodies_from_the_cache(api: Api) -> None:
    url = _result_url(api)
    assert api.client.get(url).status_code == 200
    bodies = api.app.state.result_bodies
    assert bodies._size > 0
    log_id = api.client.get(url.rsplit("/", 1)[0]).json()["log"]
    assert api.client.delete(f"{API}/logs/{log_id}").status_code == 204
    assert bodies._size == 0 and not bodies._data
