"""Master-key providers. A provider holds numbered master keys; the highest is current for wrapping,
and versions below ``min_version`` are retired: nothing may be unwrapped with them any more.

``FileKeyProvider`` keeps its keys in a JSON file (mode 0600) and can add versions. Several processes share the
file (the gateway serving, ``reponet keys rotate`` beside it): each change replaces the file whole under an
exclusive lock, and every reader looks at the file's identity (inode, size, mtime) before using a key, so a running
gateway wraps under a version the moment another process adds it, and unwraps what that process rewrapped.
``EnvKeyProvider`` reads ``REPONET_MASTER_KEYS`` and is read-only. An HSM or Vault provider implements
``KeyProvider``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

from gateway.config import Settings
from gateway.exceptions import KeyManagementError, MasterKeyRetired

KEY_BYTES = 32


class KeyProvider(ABC):
    """Versioned AES-256 master keys."""

    @abstractmethod
    def versions(self) -> list[int]:
        """Every version still held, ascending."""

    @abstractmethod
    def _material(self, version: int) -> bytes:
        """The raw key of ``version`` (KeyManagementError if unknown)."""

    @property
    @abstractmethod
    def min_version(self) -> int:
        """Lowest version that may still decrypt."""

    def refresh(self) -> None:  # noqa: B027 - a provider whose keys never change has nothing to do
        """Pick up versions added or retired elsewhere."""

    def add_version(self) -> int:
        raise KeyManagementError(f"{type(self).__name__} is read-only: rotate keys in its backing store")

    def set_min_version(self, version: int) -> None:
        raise KeyManagementError(f"{type(self).__name__} is read-only")

    @property
    def current_version(self) -> int:
        versions = self.versions()
        if not versions:
            raise KeyManagementError("no master key configured")
        return versions[-1]

    def key_for_encrypt(self) -> tuple[int, bytes]:
        version = self.current_version
        return version, self._material(version)

    def key_for_decrypt(self, version: int) -> bytes:
        if version < self.min_version:
            raise MasterKeyRetired(f"master key version {version} is retired (minimum {self.min_version})")
        return self._material(version)


def _decode_key(text: str) -> bytes:
    raw = base64.b64decode(text, validate=True)
    if len(raw) != KEY_BYTES:
        raise KeyManagementError("a master key must be 32 bytes (base64)")
    return raw


class EnvKeyProvider(KeyProvider):
    """Keys from a string ``"1:<base64>,2:<base64>"`` (the ``REPONET_MASTER_KEYS`` variable)."""

    def __init__(self, spec: str, min_version: int = 1) -> None:
        self._keys: dict[int, bytes] = {}
        for part in spec.split(","):
            version_text, _, key_text = part.strip().partition(":")
            self._keys[int(version_text)] = _decode_key(key_text)
        self._min = min_version

    def versions(self) -> list[int]:
        return sorted(self._keys)

    def _material(self, version: int) -> bytes:
        try:
            return self._keys[version]
        except KeyError:
            raise KeyManagementError(f"unknown master key version {version}") from None

    @property
    def min_version(self) -> int:
        return self._min


class FileKeyProvider(KeyProvider):
    """Keys in a JSON file ``{"min_version": 1, "keys": {"1": "<base64>"}}``, created on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._guard = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._data: dict[str, object] = {"min_version": 1, "keys": {}}
        with self._exclusive():
            if not path.exists():
                self._data = {"min_version": 1, "keys": {"1": _new_key()}}
                self._write()
        self._reload()

    # --- the file, shared with other processes ----------------------------------------------------------------
    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Writers of the key file take an exclusive lock on ``<file>.lock`` and read the file afresh under it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if self.path.exists():
                self._reload()
            yield
        finally:
            os.close(fd)  # releases the lock

    def _identity(self) -> tuple[int, int, int]:
        stat = self.path.stat()
        return stat.st_ino, stat.st_size, stat.st_mtime_ns

    def _reload(self) -> None:
        with self._guard:
            seen = self._identity()
            self._data = json.loads(self.path.read_text())
            self._seen = seen

    def refresh(self) -> None:
        """Re-read the file if another process replaced it since we last read it."""
        if self._identity() != self._seen:
            self._reload()

    def _write(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self._data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)  # readers see the old file or the new one, never half of one
        self._seen = self._identity()

    def _keys(self) -> dict[str, str]:
        keys = self._data["keys"]
        assert isinstance(keys, dict)
        return keys

    # --- KeyProvider --------------------------------------------------------------------------------------------
    def versions(self) -> list[int]:
        self.refresh()
        return sorted(int(v) for v in self._keys())

    def _material(self, version: int) -> bytes:
        text = self._keys().get(str(version))
        if text is None:
            self.refresh()  # another process may have added it
            text = self._keys().get(str(version))
        if text is None:
            raise KeyManagementError(f"unknown master key version {version}")
        return _decode_key(text)

    @property
    def min_version(self) -> int:
        self.refresh()
        value = self._data["min_version"]
        assert isinstance(value, int)
        return value

    def add_version(self) -> int:
        with self._exclusive():
            version = (sorted(int(v) for v in self._keys()) or [0])[-1] + 1
            self._keys()[str(version)] = _new_key()
            self._write()
        return version

    def set_min_version(self, version: int) -> None:
        with self._exclusive():
            if version > max(int(v) for v in self._keys()):
                raise KeyManagementError("cannot retire the current master key")
            self._data["min_version"] = version
            # Retired key material is destroyed, not just disabled.
            for old in [v for v in self._keys() if int(v) < version]:
                del self._keys()[old]
            self._write()


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def provider_from_settings(settings: Settings) -> KeyProvider:
    """The environment provider when ``REPONET_MASTER_KEYS`` is set, else the key file (created if absent)."""
    if settings.master_keys:
        return EnvKeyProvider(settings.master_keys, settings.master_key_min_version)
    path = settings.master_key_file or settings.data_dir / "master-keys.json"
    return FileKeyProvider(path)
