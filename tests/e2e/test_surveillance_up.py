"""``reponet up`` starts the surveillance service beside the gateway with its own operator key (two scopes), the
service reaches the gateway's feed with it, and a killed service is restarted and resumes from its state file; an
alert raised with the service's key is worked from the command line (``reponet surveillance alerts|cases``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e import test_up_demo
from tests.e2e.test_up_demo import UpProcess, _free_port
from tests.e2e.test_up_supervision import _wait_for
from tests.gateway.surveillance.test_cases import alert as case_alert

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]


def test_up_starts_the_surveillance_service_and_restarts_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # one step more than the other up tests wait for; on a loaded machine up's steps take longer than their bound
    monkeypatch.setattr(test_up_demo, "UP_READY_SECONDS", 300)
    up = UpProcess(tmp_path / "net", _free_port(), _free_port(), tmp_path / "up.log")
    log = tmp_path / "net" / "logs" / "surveillance.log"
    try:
        up.wait_ready()
        first = up.children()
        assert "surveillance" in first, first
        config = json.loads((tmp_path / "net" / "surveillance" / "config.json").read_text())
        assert config["api_key"] and config["client_id"]
        _wait_for(lambda: log.exists() and "resumed after feed item" in log.read_text(), 60, "service read the feed")
        _wait_for(lambda: (tmp_path / "net" / "surveillance" / "surveillance.db").exists(), 30, "state file")
        os.killpg(first["surveillance"], signal.SIGKILL)
        _wait_for(
            lambda: up.children().get("surveillance", first["surveillance"]) != first["surveillance"],
            60,
            "surveillance service restarted",
        )
        _wait_for(lambda: log.read_text().count("resumed after feed item") >= 2, 60, "restarted service resumed")
        assert "feed unavailable" not in log.read_text()
        _work_a_case_from_the_cli(tmp_path / "net", config)
        assert up.interrupt() == 0
    finally:
        up.kill()


def _work_a_case_from_the_cli(data_dir: Path, config: dict[str, str]) -> None:
    alert = case_alert(evidence={"trades": [], "feed_sequence": 0})  # no trade behind it: the CLI is what is tested
    with httpx.Client(base_url=config["gateway_url"], verify=config["ca_file"], timeout=30) as http:
        raised = http.post("/v1/surveillance/alerts", json=alert, headers={"X-API-Key": config["api_key"]})
    assert raised.status_code == 201, raised.text
    case = raised.json()["case_id"]

    def reponet(*command: str) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "--json", "surveillance", *command, "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        answer: dict[str, object] = json.loads(done.stdout)
        return answer

    alerts = reponet("alerts")["data"]
    assert isinstance(alerts, list) and [a["case_id"] for a in alerts] == [case]
    listed = reponet("cases", "list", "--status", "open")["data"]
    assert isinstance(listed, list) and [c["id"] for c in listed] == [case]
    commented = reponet("cases", "comment", case, "--text", "same desk on both sides")
    entries = commented["entries"]
    assert isinstance(entries, list) and entries[-1]["kind"] == "comment"
    assert reponet("cases", "close", case, "--reason", "reported")["status"] == "close_requested"  # four eyes
