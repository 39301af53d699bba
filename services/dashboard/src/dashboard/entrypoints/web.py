"""The operators' web page: one HTML document and its script and style, served by the dashboard itself.

The page is a shell until its operator signs in: every figure it shows comes from the dashboard's API under the
session cookie. Its assets are the project's own (no third-party script), so a strict Content-Security-Policy holds:
scripts, styles and connections from this origin only, no framing.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(str(resources.files("dashboard") / "static"))
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY", "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def page() -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


class Assets(StaticFiles):
    """The page's script and style, revalidated on each load (they are small; a deployment changes them)."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]  # Starlette's own signature
        response.headers.update({"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
        return response


def assets() -> Assets:
    return Assets(directory=STATIC)
