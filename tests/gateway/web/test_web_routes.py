"""/app is served by the gateway, same origin, under a strict Content-Security-Policy: no inline script or style,
nothing from another origin, no framing; only the files of ``gateway/web/static`` are reachable, and the page's
scripts are all modules from that folder."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from gateway.web.routes import STATIC
from tests.gateway.conftest import World


def test_the_page_is_served_with_a_strict_csp(world: World) -> None:
    r = world.client.get("/app")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, flags=re.S)
    assert scripts and all('src="/app/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert " style=" not in r.text and "<style" not in r.text and not re.search(r"\son[a-z]+=", r.text)


def test_static_modules_and_nothing_else(world: World) -> None:
    for path in STATIC.glob("*.js"):
        r = world.client.get(f"/app/static/{path.name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript"), path.name
        assert "localStorage" not in r.text.replace("never localStorage", "")  # nothing kept in local storage
    assert world.client.get("/app/static/nope.js").status_code == 404
    assert world.client.get("/app/static/..%2Froutes.py").status_code == 404


def test_every_module_parses() -> None:
    """A syntax error in one module stops the whole page (each imports others): Node parses every one as a module."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (scripts/setup needs it for the Solidity toolchain)")
    for path in sorted(STATIC.glob("*.js")):
        checked = subprocess.run(
            [node, "--experimental-default-type=module", "--check", str(path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert checked.returncode == 0, f"{path.name}: {checked.stderr}"
