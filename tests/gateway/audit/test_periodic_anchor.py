"""The app anchors the audit head periodically when a chain is configured."""

import time
from pathlib import Path

from tests.gateway.conftest import make_world


def test_head_anchored_periodically(tmp_path: Path, db_url: str) -> None:
    for world in make_world(tmp_path, db_url, anchor_interval_seconds=1):
        deadline = time.monotonic() + 10
        while not world.chain.anchors and time.monotonic() < deadline:
            time.sleep(0.1)
        assert world.chain.anchors, "no anchor within 10 s"
        with world.ctx.sessions() as session:
            from gateway.db import audit_log

            assert audit_log.verify(session, chain_heads=world.chain.anchored_heads()).ok
