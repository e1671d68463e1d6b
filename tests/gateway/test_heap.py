"""The start-up heap leaves the cyclic collector's view once per process (``gateway.heap``), as the app starts."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from gateway import heap
from gateway.app import create_app
from tests.gateway.conftest import make_settings


def test_the_app_freezes_its_start_up_heap_once_per_process(tmp_path: Path, db_url: str) -> None:
    with TestClient(create_app(make_settings(tmp_path, db_url))):
        assert gc.get_freeze_count() > 100_000  # start-up's modules, schemas and mappers: never walked again
    garbage: list[list[object]] = [[] for _ in range(1000)]
    for item in garbage:
        item.append(item)  # cycles made after start-up ...
    before = gc.get_freeze_count()
    heap.freeze_once()
    assert gc.get_freeze_count() == before  # ... are not frozen by a second app or process start
    del garbage, item
    assert gc.collect() >= 1000  # ... and stay collectable
