"""The web page for CX leads: `/` and its static files, served from inside the package.

The page is plain HTML, CSS and JavaScript modules in `api/web/` (no build step, no CDN);
its charts use the `plotly.min.js` that ships inside the installed `plotly` package, served
at `/static/vendor/plotly.min.js`. The page calls the HTTP API with the API key the person
types in, so these routes need no key. It also mounts the map-draft route it uses.
"""

from __future__ import annotations

import re
from importlib.util import find_spec
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ...miner.errors import NotFoundError
from . import drafts, problem_responses

WEB = Path(__file__).resolve().parent.parent / "web"
_ASSET = re.compile(r"^[a-z0-9_-]{1,64}\.(js|css|svg|ico|png)$")
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
}
#: Everything from this origin, nothing from anywhere else: the page works offline.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter()


def plotly_js() -> Path | None:
    """The `plotly.min.js` bundled in the installed plotly package, or None without plotly."""
    spec = find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "package_data" / "plotly.min.js"
        if path.is_file():
            return path
    return None


@router.get("/", response_class=FileResponse, include_in_schema=False)
def page() -> FileResponse:
    """The single page."""
    return FileResponse(WEB / "index.html", media_type="text/html", headers=_HEADERS)


@router.get("/static/vendor/plotly.min.js", response_class=FileResponse, include_in_schema=False)
def plotly_bundle() -> FileResponse:
    """Plotly's JavaScript from the installed Python package (the page draws tables without)."""
    path = plotly_js()
    if path is None:
        raise NotFoundError(
            "plotly is not installed: the page shows tables but no charts",
            expected="the 'plotly' Python package",
        )
    return FileResponse(
        path,
        media_type=_TYPES[".js"],
        headers={**_HEADERS, "Cache-Control": "public, max-age=86400"},
    )


@router.get("/static/{name}", response_class=FileResponse, include_in_schema=False)
def asset(name: str) -> FileResponse:
    """One of the page's own files (flat names only: no paths out of the folder)."""
    path = WEB / name
    if not _ASSET.match(name) or not path.is_file():
        raise NotFoundError(f"no static file {name!r}", extra={"file": name})
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=_HEADERS)


# The page drafts maps through this route; it lives with the other /api/v1 routes.
router.include_router(drafts.router, prefix="/api/v1", responses=problem_responses(401))
