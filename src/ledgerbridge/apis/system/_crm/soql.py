"""Building SOQL safely: literals quoted and escaped, never pasted raw."""

from __future__ import annotations


def soql_literal(value: str) -> str:
    """``value`` as a quoted SOQL string literal (backslash and quote escaped)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"
