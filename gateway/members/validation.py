"""Validation of legal-entity identifiers, read like the standards."""

from __future__ import annotations

import re

LEI_PATTERN = re.compile(r"^[A-Z0-9]{18}[0-9]{2}$")
JURISDICTION_PATTERN = re.compile(r"^[A-Z]{2}$")


def lei_checksum_ok(lei: str) -> bool:
    """ISO 17442: 20 characters, the last two check digits per ISO 7064 MOD 97-10 (value mod 97 == 1)."""
    if not LEI_PATTERN.fullmatch(lei):
        return False
    digits = "".join(str(int(ch, 36)) for ch in lei)
    return int(digits) % 97 == 1


def lei_with_check_digits(prefix18: str) -> str:
    """Complete an 18-character LEI prefix with its check digits (for tests and tools)."""
    digits = "".join(str(int(ch, 36)) for ch in prefix18 + "00")
    return f"{prefix18}{98 - int(digits) % 97:02d}"


def validate_lei(value: str) -> str:
    value = value.strip().upper()
    if not LEI_PATTERN.fullmatch(value):
        raise ValueError("an LEI is 18 alphanumeric characters followed by 2 check digits")
    if not lei_checksum_ok(value):
        raise ValueError("LEI check digits do not match (ISO 17442 / ISO 7064 MOD 97-10)")
    return value


def validate_jurisdiction(value: str) -> str:
    value = value.strip().upper()
    if not JURISDICTION_PATTERN.fullmatch(value):
        raise ValueError("jurisdiction is an ISO 3166-1 alpha-2 country code")
    return value
