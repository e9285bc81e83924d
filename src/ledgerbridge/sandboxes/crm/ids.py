"""Salesforce-style record ids: a 3-character key prefix, 12 more characters, a 3-character suffix.

The suffix is Salesforce's case-safety checksum, so an 18-character id survives case-insensitive
systems and a 15-character id can be widened back to the same 18-character one.
"""

from __future__ import annotations

import string

_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"


def _checksum(id15: str) -> str:
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if char.isupper():
                bits |= 1 << position
        suffix += _SUFFIX[bits]
    return suffix


def make_id(key_prefix: str, sequence: int) -> str:
    """The 18-character id of record number `sequence` of the object with `key_prefix`."""
    digits = ""
    value = sequence
    while value:
        value, remainder = divmod(value, 62)
        digits = _ALPHABET[remainder] + digits
    # "5g" stands where a real org puts its pod and a reserved character.
    id15 = f"{key_prefix}5g0{digits.rjust(9, '0')}"
    return id15 + _checksum(id15)


def normalise_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None if `value` is not an id."""
    if len(value) not in (15, 18) or not all(c in _ALPHABET for c in value):
        return None
    id15 = value[:15]
    id18 = id15 + _checksum(id15)
    if len(value) == 18 and value[15:].upper() != id18[15:]:
        return None
    return id18
