"""/app: the web app's page and its static ES modules, same origin as the API.

No build step: the browser loads the modules as they are in ``static/`` (nothing to install at run time, nothing
to go stale). The page carries a strict Content-Security-Policy: scripts and styles from this origin only (no inline
script or style, no eval), connections to this origin (REST and the WebSocket stream), no framing. The app holds
its access token in memory only (never localStorage or a cookie): it sends it as a bearer header, so a forged
cross-site request carries no credential (no CSRF surface); a reload signs in again."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from gateway.api.deps import Public
from gateway.exceptions import NotFound

STATIC = Path(__file__).resolve().parent / "static"
FILES = {p.name: p for p in STATIC.iterdir() if p.suffix in (".js", ".css", ".html")}
MEDIA = {".js": "text/javascript", ".css": "text/css", ".html": "text/html; charset=utf-8"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

router = APIRouter(tags=["web"], include_in_schema=False, dependencies=[Public])


@router.get("/app", response_class=FileResponse)
def page() -> FileResponse:
    """The one page; the modules route within it."""
    return FileResponse(STATIC / "index.html", media_type=MEDIA[".html"], headers=HEADERS)


@router.get("/app/static/{name}", response_class=FileResponse)
def asset(name: str) -> FileResponse:
    """A module or stylesheet of the app, by its exact name (no path: nothing outside ``static/`` is reachable)."""
    path = FILES.get(name)
    if path is None:
        raise NotFound("no such file")
    return FileResponse(path, media_type=MEDIA[path.suffix], headers=HEADERS)
