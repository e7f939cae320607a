"""Map drafts: a designed map drafted from a stored log, for a person to check and edit.

`POST /maps/draft {"log", "name"?, "phases"?, "goals"?}` reads the log, drafts touchpoints,
phases and flows from the journeys (`miner.usecases.draft_map_from_log`) and stores the draft
as a new map (version 1) in TOML; the answer's `draft` says which goal was chosen and why (with
the alternatives and their shares) and what share of the journeys the draft covers, so it can be compared, downloaded and replaced like any other map.
Without a name it is "<log name> (draft)", numbered when that name is taken.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from ...miner.errors import InputError
from ..deps import RunnerDep, SettingsDep, StoreDep, TenantDep
from ..schemas import MapPublic
from ..store import Store, Tenant
from ..store.stitching import load_journeys
from . import check_name, problem_responses

router = APIRouter(prefix="/maps", tags=["maps"])


class MapDraftCreate(BaseModel):
    """Which log to draft a map from, the map's name and its number of phases."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"log": "log_3kT9xQ2bLm0a", "name": "webshop draft"}]},
    )

    log: str = Field(min_length=1, description="The id of a ready log.")
    name: str | None = Field(
        None, min_length=1, description="Default: derived. At most `JOURNEYMINER_MAX_NAME_CHARS`."
    )
    phases: int = Field(5, ge=1, le=12, description="Touchpoints are cut into this many phases.")
    goals: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list,
        max_length=50,
        description="Goal touchpoints; default: a guess, explained in the answer's `draft`.",
    )


class MapDraftPublic(MapPublic):
    """The stored draft, with how its goals were chosen and what share of journeys it covers."""

    draft: dict[str, Any]


def _unused_name(store: Store, tenant: Tenant, name: str) -> str:
    """`name`, or `name` numbered ("... (draft 2)") when a map has it: map names are unique."""
    taken = {m.name for m in store.list_maps(tenant)}
    if name not in taken:
        return name
    stem = name.removesuffix(")")
    return next(f"{stem} {n})" for n in range(2, len(taken) + 3) if f"{stem} {n})" not in taken)


@router.post(
    "/draft",
    status_code=201,
    summary="Draft a designed map from a log and store it",
    responses=problem_responses(404, 409, 422),
)
def draft_map_from_log(
    body: MapDraftCreate,
    tenant: TenantDep,
    store: StoreDep,
    settings: SettingsDep,
    runner: RunnerDep,
    response: Response,
) -> MapDraftPublic:
    """Draft a map from the log's journeys (a sync route: it runs in a worker thread)."""
    from ...miner import usecases

    if body.name is not None:
        check_name(body.name, settings.max_name_chars, "map")
    info = store.get_log(tenant, body.log)
    if info.status != "ready":
        raise InputError(
            f"log {body.log!r} is {info.status}; draft a map once it is ready",
            status=409,
            title="Conflict",
        )
    name = body.name or _unused_name(store, tenant, f"{info.name} (draft)")
    log = load_journeys(store, tenant, body.log).data
    drafted = usecases.draft_map_from_log(
        log, name=name, phases=body.phases, goals=tuple(body.goals), run=runner.engine.executor()
    )
    stored = store.create_map(tenant, name, drafted.map.to_toml(), "toml")
    response.headers["Location"] = f"/api/v1/maps/{stored.id}"
    return MapDraftPublic(**MapPublic.of(stored).model_dump(), draft=drafted.to_dict())
