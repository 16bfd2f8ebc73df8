"""/docs (Swagger UI) and /redoc: served from bundled assets, no CDN; rendered for real by Chromium with no internet."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.api.conftest import Api
from tests.process import ServerProcess, start_server

PAGES = ("/docs", "/redoc")
# What each asset must be served as, by its file suffix.
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}
# Every place the two pages name something to load: tag attributes, and the Swagger UI config's `url: '...'`.
_REFERENCE = re.compile(r"""(?:\b(?:src|href|spec-url)=|\burl:\s*)["']([^"']+)["']""")
_ANY_URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


def references(html: str) -> list[str]:
    return _REFERENCE.findall(html)


@pytest.mark.parametrize("page", PAGES)
async def test_page_references_only_this_server(api: Api, page: str) -> None:
    """The page's HTML names no other host (no http(s):// or //host URL at all), only paths of this API."""
    resp = await api.http.get(page)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    html = resp.text
    assert _ANY_URL.findall(html) == []
    found = references(html)
    assert found, html
    assert all(urlsplit(ref).netloc == "" and ref.startswith("/") for ref in found), found
    assert "/openapi.json" in found


@pytest.mark.parametrize("page", PAGES)
async def test_every_asset_is_served_with_its_type(api: Api, page: str) -> None:
    """Each script, stylesheet, icon and spec the page references answers 200 with the Content-Type of its kind."""
    html = (await api.http.get(page)).text
    scripts = 0
    for ref in references(html):
        resp = await api.http.get(ref)
        assert resp.status_code == 200, ref
        suffix = Path(urlsplit(ref).path).suffix
        assert resp.headers["content-type"].split(";")[0] in CONTENT_TYPES[suffix], (ref, resp.headers)
        if suffix == ".js":
            scripts += 1
            assert len(resp.content) > 500_000, ref  # the real bundle (Swagger UI ~1.5 MB, ReDoc ~1.1 MB)
    assert scripts == 1


async def test_missing_asset_is_a_plain_404(api: Api) -> None:
    """An unknown file under the assets path is gin's plain 404, as for any unknown route."""
    resp = await api.http.get("/docs/static/nope.js")
    assert (resp.status_code, resp.text) == (404, "404 page not found")


# --- in a real browser ------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path, "api", OPENIM_API_LISTENIP="127.0.0.1")
    yield proc
    proc.stop()


def rendered(url: str, profile: Path) -> str:
    """The page's DOM after Chromium ran its scripts, with every host name but 127.0.0.1 unresolvable."""
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (scripts/test-tools installs Debian's chromium)")
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        # No internet: a page that needs a CDN renders nothing here.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--virtual-time-budget=15000",
        "--dump-dom",
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.slow
def test_pages_render_without_internet(server: ServerProcess, tmp_path: Path) -> None:
    """Swagger UI lists the routes and ReDoc its menu, in Chromium that can reach nothing but this server."""
    base = f"http://127.0.0.1:{server.api}"
    swagger = rendered(f"{base}/docs", tmp_path / "profile-docs")
    assert 'class="swagger-ui' in swagger
    assert 'data-path="/auth/get_admin_token"' in swagger and 'data-path="/msg/send_msg"' in swagger
    redoc = rendered(f"{base}/redoc", tmp_path / "profile-redoc")
    assert re.search(r'class="[^"]*\bapi-content"', redoc)
    assert 'aria-label="Get Admin Token"' in redoc
