"""Errors of the ``contracts`` package, under one root."""


class ContractsError(Exception):
    """Root of every error raised by the ``contracts`` package."""


class ArtifactNotFound(ContractsError):
    """No compiled artifact exists for the named contract."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no artifact for contract {name!r}; run scripts/compile_contracts.py")
        self.name = name


class DeploymentFailed(ContractsError):
    """A deployment or wiring transaction did not succeed."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"deployment step {step!r} failed: {detail}")
        self.step = step
        self.detail = detail
