"""``reponet surveillance retrain``: a new version per run, its card recording the window and the metrics, and a
model file that no longer matches its card is refused."""

import json
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.surveillance import registry
from gateway.surveillance.exceptions import ModelNotFound, SurveillanceError
from scripts.surveillance_market import MarketParams, generate, write_jsonl


@pytest.fixture(scope="module")
def trades_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("market") / "market.jsonl"
    write_jsonl(generate(MarketParams(seed=5, days=45)), path)
    return path


def test_retrain_writes_versions_with_their_window_and_metrics(
    trades_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    assert main(["surveillance", "retrain", "--trades", str(trades_file), "--models", str(models)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["version"] == 1 and first["members"] == 20
    assert first["window_start"].startswith("2026-01-05") and first["trades"] > 1000
    assert {"alerts_per_member_day", "precision", "recall", "pr_auc"} <= set(first["metrics"])
    args = ["--since", "2026-01-19T00:00:00+00:00", "--until", "2026-02-01T00:00:00+00:00"]
    assert main(["surveillance", "retrain", "--trades", str(trades_file), "--models", str(models), *args]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["version"] == 2 and second["trades"] < first["trades"]
    assert second["window_start"] >= "2026-01-19" and second["window_end"] < "2026-02-01"
    model, card = registry.load(models)
    assert card.version == 2 and model.params.alert_score == card.alert_score
    assert registry.load(models, 1)[1].trades == first["trades"]
    assert (models / "model-v2.pkl").stat().st_mode & 0o077 == 0


def test_a_tampered_model_is_refused(trades_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models"
    with pytest.raises(ModelNotFound):
        registry.load(models)
    assert main(["surveillance", "retrain", "--trades", str(trades_file), "--models", str(models)]) == 0
    blob = (models / "model-v1.pkl").read_bytes()
    (models / "model-v1.pkl").write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(SurveillanceError, match="SHA-256"):
        registry.load(models)


def test_too_short_a_window_is_refused(trades_file: Path, tmp_path: Path) -> None:
    since = "2026-01-08T09:00:00+00:00"
    status = main(
        [
            "surveillance",
            "retrain",
            "--trades",
            str(trades_file),
            "--models",
            str(tmp_path),
            "--since",
            since,
            "--until",
            "2026-01-08T09:30:00+00:00",
        ]
    )
    assert status == 3
    assert registry.versions(tmp_path) == []
