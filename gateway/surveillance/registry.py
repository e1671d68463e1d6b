"""Versioned models: each retrain writes ``model-vN.pkl`` beside ``model-vN.json``, its card (data window, counts,
parameters, library version, metrics, the pickle's SHA-256). The newest version is the one scored with; older ones
stay for comparison and rollback. A pickle is loaded only if its hash matches its card: the directory is the
service's own (mode 0700), and the check catches a truncated or swapped file before it is unpickled."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import sklearn

from gateway.surveillance.exceptions import ModelNotFound, SurveillanceError
from gateway.surveillance.model import AnomalyModel

_NAME = re.compile(r"model-v(\d+)\.json")


@dataclass(frozen=True)
class ModelCard:
    version: int
    created_at: str
    window_start: str  # first and last trade time the model learned from (UTC ISO 8601)
    window_end: str
    trades: int
    members: int
    member_forests: int  # members with a forest of their own; the rest share the pooled one
    features: list[str]
    alert_score: float
    sklearn_version: str
    metrics: dict[str, float]
    sha256: str


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def versions(directory: Path) -> list[int]:
    return sorted(int(m.group(1)) for p in directory.glob("model-v*.json") if (m := _NAME.fullmatch(p.name)))


def save(
    model: AnomalyModel,
    directory: Path,
    *,
    window: tuple[int, int],
    trades: int,
    members: int,
    metrics: dict[str, float],
) -> ModelCard:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    version = max(versions(directory), default=0) + 1
    blob = pickle.dumps(model)
    card = ModelCard(
        version=version,
        created_at=datetime.now(UTC).isoformat(),
        window_start=_iso(window[0]),
        window_end=_iso(window[1]),
        trades=trades,
        members=members,
        member_forests=len(model.members),
        features=list(model.params.features),
        alert_score=model.params.alert_score,
        sklearn_version=sklearn.__version__,
        metrics=metrics,
        sha256=hashlib.sha256(blob).hexdigest(),
    )
    pkl = directory / f"model-v{version}.pkl"
    pkl.write_bytes(blob)
    pkl.chmod(0o600)
    (directory / f"model-v{version}.json").write_text(json.dumps(asdict(card), indent=2))
    return card


def load(directory: Path, version: int | None = None) -> tuple[AnomalyModel, ModelCard]:
    """The given version, or the newest."""
    available = versions(directory) if directory.is_dir() else []
    if not available or (version is not None and version not in available):
        raise ModelNotFound(f"no model {'version ' + str(version) if version else ''} in {directory}")
    version = version if version is not None else available[-1]
    card = ModelCard(**json.loads((directory / f"model-v{version}.json").read_text()))
    blob = (directory / f"model-v{version}.pkl").read_bytes()
    if hashlib.sha256(blob).hexdigest() != card.sha256:
        raise SurveillanceError(f"model v{version} does not match its card's SHA-256: retrain")
    model = pickle.loads(blob)  # noqa: S301 - our own file, its hash checked against the card above
    if not isinstance(model, AnomalyModel):
        raise SurveillanceError(f"model v{version} is not an anomaly model")
    return model, card
