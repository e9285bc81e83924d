"""The audit trail (append-only, hash-chained) and the masking of personal data."""

from ledgerbridge.runtime.audit.masking import (
    PERSONAL_FIELDS,
    mask_log_event,
    mask_personal,
    mask_text,
)
from ledgerbridge.runtime.audit.trail import (
    GENESIS,
    AuditEntry,
    AuditTrail,
    ChainHead,
    Verdict,
    audit_entry,
    entry_hash,
)
from ledgerbridge.runtime.audit.writes import install_audit

__all__ = [
    "GENESIS",
    "PERSONAL_FIELDS",
    "AuditEntry",
    "AuditTrail",
    "ChainHead",
    "Verdict",
    "audit_entry",
    "entry_hash",
    "install_audit",
    "mask_log_event",
    "mask_personal",
    "mask_text",
]
