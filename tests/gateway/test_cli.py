"""The ``reponet`` command: HTTPS serving with a generated certificate, exit statuses."""

import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway import cli


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_gateway_run_serves_https_with_generated_certificate(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "REPONET_ENVIRONMENT": "test",
        "REPONET_JWT_SECRET": "s" * 48,
        "REPONET_DATA_DIR": str(tmp_path / "data"),
        "REPONET_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'gateway.db'}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "gateway", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    cert = tmp_path / "data" / "tls" / "tls-cert.pem"
    try:
        deadline = time.monotonic() + 30
        response = None
        while time.monotonic() < deadline and response is None:
            if proc.poll() is not None:
                pytest.fail(f"gateway exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                if cert.exists():
                    response = httpx.get(
                        f"https://127.0.0.1:{port}/health", verify=ssl.create_default_context(cafile=str(cert))
                    )
            except httpx.TransportError:
                time.sleep(0.2)
        assert response is not None and response.status_code == 200
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert "server" not in response.headers
        # Plain HTTP is not served.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=3)
        assert (tmp_path / "data" / "tls" / "tls-key.pem").stat().st_mode & 0o077 == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_configuration_error_exit_status(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import config

    monkeypatch.setenv("REPONET_ENVIRONMENT", "production")
    monkeypatch.setenv("REPONET_JWT_SECRET", "changethis")
    config.get_settings.cache_clear()
    try:
        assert cli.main(["audit", "verify"]) == cli.ExitStatus.CONFIG
    finally:
        config.get_settings.cache_clear()


def test_bootstrap_creates_operator_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from gateway import config
    from gateway.members.validation import lei_with_check_digits

    monkeypatch.setenv("REPONET_ENVIRONMENT", "test")
    monkeypatch.setenv("REPONET_JWT_SECRET", "s" * 48)
    monkeypatch.setenv("REPONET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REPONET_DATABASE_URL", f"sqlite:///{tmp_path / 'gateway.db'}")
    config.get_settings.cache_clear()
    try:
        status = cli.main(
            [
                "--json",
                "admin",
                "bootstrap",
                "--lei",
                lei_with_check_digits("OPERATOR0000000000"),
                "--email",
                "root@operator.example",
                "--password",
                "a long initial passphrase",
            ]
        )
    finally:
        config.get_settings.cache_clear()
    assert status == cli.ExitStatus.OK
    assert json.loads(capsys.readouterr().out)["email"] == "root@operator.example"
