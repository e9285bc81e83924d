"""API versions side by side: lifecycle, deprecation and sunset, and the rules they keep."""

from ledgerbridge.runtime.versioning._compat import BreakingChange, breaking_changes
from ledgerbridge.runtime.versioning._gate import (
    ContractCheck,
    ContractState,
    check_contracts,
    snapshot_path,
    write_snapshots,
)
from ledgerbridge.runtime.versioning._lifecycle import (
    DEFAULT_WINDOW_MONTHS,
    Lifecycle,
    LifecyclePolicyViolation,
    VersionedApi,
    VersionStatus,
    check_lifecycle_policy,
    earliest_sunset,
    lifecycle_headers,
)
from ledgerbridge.runtime.versioning._lint import LintFinding, Severity, lint_openapi
from ledgerbridge.runtime.versioning._serving import (
    Caller,
    LifecycleMiddleware,
    MountedVersion,
    VersionLifecycle,
    install_lifecycle,
)

__all__ = [
    "DEFAULT_WINDOW_MONTHS",
    "BreakingChange",
    "Caller",
    "ContractCheck",
    "ContractState",
    "Lifecycle",
    "LifecycleMiddleware",
    "LifecyclePolicyViolation",
    "LintFinding",
    "MountedVersion",
    "Severity",
    "VersionLifecycle",
    "VersionStatus",
    "VersionedApi",
    "breaking_changes",
    "check_contracts",
    "check_lifecycle_policy",
    "earliest_sunset",
    "install_lifecycle",
    "lifecycle_headers",
    "lint_openapi",
    "snapshot_path",
    "write_snapshots",
]
