"""Sanctions screening against a list loaded from CSV, with fuzzy name matching (rapidfuzz).

CSV columns: ``id,name,aliases,program,country``; ``aliases`` separated by ``;``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz

LEGAL_FORMS = frozenset(
    {"ltd", "limited", "plc", "llc", "inc", "corp", "corporation", "sa", "ag", "gmbh", "nv", "bv", "spa", "co"}
)


def normalize(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    return " ".join(w for w in words if w not in LEGAL_FORMS)


@dataclass(frozen=True)
class ListedParty:
    entry_id: str
    name: str
    names: tuple[str, ...]  # normalized name and aliases


@dataclass(frozen=True)
class Match:
    screened_name: str
    party: ListedParty
    score: float


class SanctionsList:
    def __init__(self, parties: list[ListedParty], threshold: float = 88.0, digest: str = "") -> None:
        self.parties = parties
        self.threshold = threshold
        self.digest = digest
        """SHA-256 of the list file: recorded with every screening, so a decision names the list it used."""

    @classmethod
    def from_csv(cls, path: Path, threshold: float = 88.0) -> SanctionsList:
        raw = path.read_bytes()
        parties = []
        for row in csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")):
            names = [row["name"], *[a for a in (row.get("aliases") or "").split(";") if a.strip()]]
            parties.append(ListedParty(row["id"], row["name"], tuple(n for n in map(normalize, names) if n)))
        return cls(parties, threshold, hashlib.sha256(raw).hexdigest())

    def screen(self, names: list[str]) -> list[Match]:
        matches = []
        for name in names:
            query = normalize(name)
            if not query:
                continue
            for party in self.parties:
                score = max(fuzz.token_sort_ratio(query, candidate) for candidate in party.names)
                if score >= self.threshold:
                    matches.append(Match(name, party, float(score)))
        return matches
