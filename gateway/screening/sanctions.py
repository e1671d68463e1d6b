"""Sanctions screening against a list loaded from CSV, with fuzzy name matching (rapidfuzz).

CSV columns: ``id,name,aliases,program,country``; ``aliases`` separated by ``;``.

Names in any script are transliterated to ASCII (anyascii) before matching, so a listed "Ivan Badactor" is found
when screening "Иван Бадактор". Abjad scripts (Arabic, Hebrew) write no short vowels, so a name that comes out of
them nearly vowelless is also compared by consonant skeleton. The threshold is measured on a labelled set of name
variants in several scripts (``scripts/data/name_variants.csv``; ``python scripts/screening_threshold.py`` prints
precision and recall per threshold): see ``DEFAULT_THRESHOLD``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from anyascii import anyascii
from rapidfuzz import fuzz

LEGAL_FORMS = frozenset(
    {"ltd", "limited", "plc", "llc", "inc", "corp", "corporation", "sa", "ag", "gmbh", "nv", "bv", "spa", "co"}
)


DEFAULT_THRESHOLD = 88.0
"""Lowest score that is a hit (REPONET_SANCTIONS_THRESHOLD). On the labelled set (scripts/data/name_variants.csv: 60
names in Cyrillic, Arabic, Chinese, Greek and Latin with and without diacritics, 32 of them listed) every threshold
from 84 to 90 finds all 32 (recall 1.0) with 2 false hits (precision 0.94: a swapped Greek given and family name, and
"Chen Jiang" for "Chen Jianguo"); the lowest true variant scores 92. 88 sits inside that plateau with margin on
both sides. scripts/screening_threshold.py prints the sweep."""

_MARKS = re.compile(r"['`\u02bc\u02bb\u2019]")  # apostrophes and the ayn/hamza marks transliteration leaves
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")  # anyascii joins Chinese syllables as "WangXiaoMing"
_VOWELS = frozenset("aeiou")


def normalize(name: str) -> str:
    """Lower-case ASCII words of a name in any script, without punctuation or legal forms."""
    text = _CAMEL.sub(" ", _MARKS.sub("", anyascii(name))).casefold()
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    return " ".join(w for w in words if w not in LEGAL_FORMS)


def skeleton(normalized: str) -> str:
    """Consonants only, doubled letters collapsed, spaces dropped: "mohammed abdullah" and "mhmd bd llh" agree."""
    consonants = [ch for ch in normalized if ch.isalnum() and ch not in _VOWELS and ch not in "yw"]
    return "".join(ch for i, ch in enumerate(consonants) if i == 0 or ch != consonants[i - 1])


def vowelless(normalized: str) -> bool:
    """A transliteration from an abjad script: almost no written vowels."""
    letters = [ch for ch in normalized if ch.isalpha()]
    return bool(letters) and sum(ch in _VOWELS for ch in letters) < 0.1 * len(letters)


def score(query: str, candidate: str) -> float:
    """Similarity of two normalized names, 0-100: word order free, spacing free, by skeleton for abjad input."""
    best = max(fuzz.token_sort_ratio(query, candidate), fuzz.ratio(query.replace(" ", ""), candidate.replace(" ", "")))
    if vowelless(query) or vowelless(candidate):
        a, b = skeleton(query), skeleton(candidate)
        if min(len(a), len(b)) >= 4:
            best = max(best, fuzz.ratio(a, b))
    return float(best)


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
    def __init__(self, parties: list[ListedParty], threshold: float = DEFAULT_THRESHOLD, digest: str = "") -> None:
        self.parties = parties
        self.threshold = threshold
        self.digest = digest
        """SHA-256 of the list file: recorded with every screening, so a decision names the list it used."""

    @classmethod
    def from_csv(cls, path: Path, threshold: float = DEFAULT_THRESHOLD) -> SanctionsList:
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
                best = max(score(query, candidate) for candidate in party.names)
                if best >= self.threshold:
                    matches.append(Match(name, party, best))
        return matches
