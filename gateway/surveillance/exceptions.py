"""The surveillance package's errors: one root."""

from __future__ import annotations


class SurveillanceError(Exception):
    """Root of the surveillance package's errors."""


class ModelNotFound(SurveillanceError):
    """No saved model version in the model directory (run ``reponet surveillance retrain`` first)."""


class NotEnoughHistory(SurveillanceError):
    """Too few trades to train on."""
