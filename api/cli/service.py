"""`journeyminer serve` (uvicorn) and `journeyminer keys create|revoke|list`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .common import JsonFlag, app, handle_errors, new_table, out, print_json

if TYPE_CHECKING:  # pydantic-settings is imported only by the commands that use it
    from ..settings import Settings

keys_app = typer.Typer(no_args_is_help=True, help="Create, revoke and list API keys.")
app.add_typer(keys_app, name="keys")

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace", help="Workspace folder (default: $JOURNEYMINER_WORKSPACE or ./workspace)."
    ),
]


def _settings(workspace: Path | None, **overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if workspace is not None:
        values["workspace"] = workspace
    from ..settings import Settings

    return Settings.model_validate(values)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default 8000).")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="HTTP worker processes (default 1).")
    ] = None,
    workspace: WorkspaceOption = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the HTTP API (uvicorn); logs are JSON lines on stderr."""
    with handle_errors():
        import uvicorn

        from ..app import configure_logging, create_app
        from ..jobs import recover_workspace
        from ..store import Store

        settings = _settings(workspace, host=host, port=port, workers=workers)
        configure_logging(log_level)
        common = {
            "host": settings.host,
            "port": settings.port,
            "log_config": None,
            "log_level": log_level,
            "access_log": False,  # our middleware logs each request as JSON
            "timeout_graceful_shutdown": 30,
        }
        if settings.workers == 1:
            uvicorn.run(create_app(settings, gc_tuning=True, warm_kernels=True), **common)  # type: ignore[arg-type]
            return
        # Several processes: recover interrupted jobs once here, not in every worker.
        with Store.open(settings) as store:
            recover_workspace(store)
        os.environ["JOURNEYMINER_WORKSPACE"] = str(settings.workspace.resolve())
        uvicorn.run(
            "journeyminer.api.app:create_app_from_env",
            factory=True,
            workers=settings.workers,
            **common,  # type: ignore[arg-type]
        )


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="Tenant name (created if new).")],
    label: Annotated[str | None, typer.Option(help="A note saying what the key is for.")] = None,
    workspace: WorkspaceOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API key; the token is printed once and never stored in plain."""
    with handle_errors():
        from ..store import Store

        with Store.open(_settings(workspace)) as store:
            owner = store.ensure_tenant(tenant)
            key_id, token = store.create_api_key(owner, label=label)
        if as_json:
            print_json({"id": key_id, "tenant": owner.name, "token": token})
            return
        out.print(f"key [bold]{key_id}[/] for tenant [bold]{owner.name}[/]")
        out.print("token (shown once, keep it secret):")
        typer.echo(token)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_...).")],
    workspace: WorkspaceOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke an API key (idempotent)."""
    with handle_errors():
        from ..store import Store

        with Store.open(_settings(workspace)) as store:
            key = store.revoke_api_key(key_id)
        if as_json:
            print_json(key.to_dict())
            return
        out.print(f"key [bold]{key.id}[/] revoked at {key.revoked_at}")


@keys_app.command("list")
def keys_list(
    tenant: Annotated[str, typer.Option(help="Tenant name.")],
    workspace: WorkspaceOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List a tenant's keys (ids, labels, dates; never the tokens)."""
    with handle_errors():
        from ..store import Store

        with Store.open(_settings(workspace)) as store:
            keys = store.list_api_keys(store.get_tenant_by_name(tenant))
        if as_json:
            print_json([k.to_dict() for k in keys])
            return
        table = new_table(title=f"API keys of {tenant}", show_edge=False)
        for column in ("id", "label", "created", "revoked"):
            table.add_column(column)
        for k in keys:
            table.add_row(k.id, k.label or "", k.created_at.isoformat(), str(k.revoked_at or ""))
        out.print(table)
