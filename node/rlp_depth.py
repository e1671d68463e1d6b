"""How deep an RLP value nests, found without decoding it: a bound checked before pyrlp sees client bytes.

Why: pyrlp decodes recursively, so a 98 KB ``eth_sendRawTransaction`` body of 30,000 nested lists took 2.8 s of
the event loop (and deeper input could reach the recursion limit that py_ecc raises to 100,000). A transaction
nests four levels at most (transaction → access list → entry → storage keys), so anything deeper is refused
after a scan of the list headers alone; byte strings are skipped by their length.
"""

from __future__ import annotations


class RlpTooDeep(ValueError):
    """Nested too deep, or too many items."""


def _header(data: bytes, pos: int) -> tuple[bool, int, int]:
    """(is a list, payload start, payload end) of the item at ``pos``; ValueError if truncated."""
    if pos >= len(data):
        raise ValueError("truncated RLP")
    first = data[pos]
    if first < 0x80:
        return False, pos, pos + 1
    if first < 0xB8:
        return False, pos + 1, pos + 1 + first - 0x80
    if first < 0xC0:
        size = first - 0xB7
        start = pos + 1 + size
        return False, start, start + int.from_bytes(data[pos + 1 : start], "big")
    if first < 0xF8:
        return True, pos + 1, pos + 1 + first - 0xC0
    size = first - 0xF7
    start = pos + 1 + size
    return True, start, start + int.from_bytes(data[pos + 1 : start], "big")


def check_depth(data: bytes, max_depth: int, max_items: int = 8192) -> None:
    """Raise :class:`RlpTooDeep` if lists in ``data`` nest deeper than ``max_depth`` or hold more than
    ``max_items`` items in all (pyrlp takes about a second for 100,000); malformed input is left to the decoder
    (this scan never reads past ``data``)."""
    ends: list[int] = []  # end offsets of the open lists
    pos = 0
    items = 0
    while pos < len(data):
        items += 1
        if items > max_items:
            raise RlpTooDeep(f"RLP with more than {max_items} items")
        while ends and pos >= ends[-1]:
            ends.pop()
        try:
            is_list, start, end = _header(data, pos)
        except ValueError:
            return
        if end > len(data):
            return
        if is_list:
            if len(ends) >= max_depth:
                raise RlpTooDeep(f"RLP nested deeper than {max_depth} lists")
            ends.append(end)
            pos = start
        else:
            pos = end
