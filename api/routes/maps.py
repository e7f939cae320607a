"""Designed journey maps: create, list, read (any version), new version, delete.

The body is JSON `{"name", "format", "text"}`: the map's TOML, JSON or YAML travels as text,
so one content type serves every format and the name travels with it. The text is checked
with `miner.maps.designed.parse_map` (problems answer 422 with the line and the id); without
that module, only its syntax is checked.
"""

from __future__ import annotations

import json
import tomllib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ...miner.errors import MapValidationError
from ...miner.maps.limits import MapLimits
from ..deps import SettingsDep, StoreDep, TenantDep
from ..schemas import MAX_VERSION, MapCreate, MapList, MapPublic, MapUpdate
from . import check_name, forget_deleted, problem_responses

router = APIRouter(prefix="/maps", tags=["maps"])


def check_map(text: str, format: str, name: str, limits: MapLimits) -> None:
    """Validate a map's text; MapValidationError (422) names the line and the id.

    A text over one of the settings' limits (`max_map_*`, YAML anchors) is a 422 naming it.
    """
    try:
        from ...miner.maps.designed import parse_map
    except ImportError:
        _check_syntax(text, format, name, limits)
        return
    parse_map(text, format=format, file=name, **limits)  # type: ignore[arg-type]


def _check_syntax(text: str, format: str, name: str, limits: MapLimits) -> None:
    from ...miner.maps.limits import check_shape, check_text_size, load_yaml

    check_text_size(len(text.encode()), max_map_bytes=limits["max_map_bytes"], file=name)
    depth, nodes = limits["max_map_depth"], limits["max_map_nodes"]
    try:
        if format == "yaml":
            load_yaml(text, max_map_depth=depth, max_map_nodes=nodes, file=name)
        else:
            raw = tomllib.loads(text) if format == "toml" else json.loads(text)
            check_shape(raw, max_map_depth=depth, max_map_nodes=nodes, file=name)
    except MapValidationError:
        raise
    except Exception as exc:
        line: Any = getattr(exc, "lineno", None)
        raise MapValidationError(
            f"the map is not valid {format.upper()}: {exc}",
            file=name,
            extra={"line": line, "id": None},
        ) from None


@router.post(
    "", status_code=201, summary="Create a designed map", responses=problem_responses(409, 422)
)
def create_map(
    body: MapCreate, tenant: TenantDep, store: StoreDep, settings: SettingsDep, response: Response
) -> MapPublic:
    """Check and store the map as version 1."""
    check_name(body.name, settings.max_name_chars, "map")
    check_map(body.text, body.format, body.name, settings.map_limits)
    info = store.create_map(tenant, body.name, body.text, body.format)
    response.headers["Location"] = f"/api/v1/maps/{info.id}"
    return MapPublic.of(info)


@router.get("", summary="List the designed maps")
def list_maps(tenant: TenantDep, store: StoreDep) -> MapList:
    """The tenant's maps (latest versions), by name."""
    return MapList(maps=[MapPublic.of(m) for m in store.list_maps(tenant)])


@router.get(
    "/{map_id}", summary="One map (latest or a given version)", responses=problem_responses(404)
)
def get_map(
    map_id: str,
    tenant: TenantDep,
    store: StoreDep,
    version: Annotated[
        int | None, Query(ge=1, le=MAX_VERSION, description="Default: the latest.")
    ] = None,
) -> MapPublic:
    """The map's text and version facts."""
    return MapPublic.of(store.get_map(tenant, map_id, version))


@router.put(
    "/{map_id}", summary="Store a new version of a map", responses=problem_responses(404, 422)
)
def put_map(
    map_id: str, body: MapUpdate, tenant: TenantDep, store: StoreDep, settings: SettingsDep
) -> MapPublic:
    """Check the text and store it as the next version; earlier versions stay readable."""
    current = store.get_map(tenant, map_id)
    fmt = body.format or current.format
    check_map(body.text, fmt, current.name, settings.map_limits)
    return MapPublic.of(store.put_map(tenant, map_id, body.text, body.format))


@router.delete(
    "/{map_id}", status_code=204, summary="Delete a map", responses=problem_responses(404)
)
async def delete_map(map_id: str, request: Request, tenant: TenantDep, store: StoreDep) -> Response:
    """Delete the map, all its versions, the results computed with it and their analyses
    (unfinished ones are cancelled, saying why)."""
    await run_in_threadpool(store.delete_map, tenant, map_id)
    forget_deleted(request, tenant.id)
    return Response(status_code=204)
