"""End users who sign in at the token service's authorize endpoint, and what their roles grant.

Users come from a JSON file named in the settings (``auth.users_file``), never from the
repository; ``ledgerbridge token hash-secret`` prints the argon2 hash of a password::

    [{"username": "ops-ada", "password_hash": "$argon2id$...", "roles": ["operator"]},
     {"username": "meridian", "password_hash": "$argon2id$...", "roles": ["customer"],
      "account_id": "001000000000001AAA"}]

A customer is bound to one CRM account: its tokens carry the account id as ``customer_id``,
the claim the Experience APIs hold every request to (see ``guard.BOUND_HEADERS``).
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledgerbridge.runtime.security.clients import verify_secret
from ledgerbridge.runtime.security.keys import Clock

CUSTOMER = "customer"
OPERATOR = "operator"
ADMINISTRATOR = "administrator"
ROLES = frozenset({CUSTOMER, OPERATOR, ADMINISTRATOR})
#: The claim binding a customer's tokens to its CRM account (the same one the APIs check).
CUSTOMER_CLAIM = "customer_id"
#: Scopes of the operations routes: acting on them, and the destructive ones.
OPERATE_SCOPE = "ops:operate"
ADMINISTER_SCOPE = "ops:administer"
#: Wrong passwords a username takes within ``LOCKOUT_SECONDS`` before it is locked: until the
#: oldest of them is that old, no password signs it in, the right one included.
MAX_FAILED_SIGN_INS = 10
LOCKOUT_SECONDS = 900.0
# Usernames whose failures are remembered at most (the oldest are forgotten first).
_MAX_TRACKED = 10_000


def role_scopes(roles: Collection[str]) -> frozenset[str]:
    """The scopes a user's roles grant: an operator operates, an administrator also
    administers; a customer gets none (its reach is its ``customer_id`` binding)."""
    scopes: set[str] = set()
    if OPERATOR in roles or ADMINISTRATOR in roles:
        scopes.add(OPERATE_SCOPE)
    if ADMINISTRATOR in roles:
        scopes.add(ADMINISTER_SCOPE)
    return frozenset(scopes)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user: the argon2 hash of the password, the roles, and a customer's CRM account."""

    username: str
    password_hash: str
    roles: frozenset[str]
    account_id: str | None = None

    def __post_init__(self) -> None:
        if not self.roles or not self.roles <= ROLES:
            raise ValueError(f"user {self.username!r}: roles must be some of {sorted(ROLES)}")
        if (CUSTOMER in self.roles) != (self.account_id is not None):
            raise ValueError(f"user {self.username!r}: a customer, and only one, has account_id")
        if CUSTOMER in self.roles and len(self.roles) > 1:
            raise ValueError(f"user {self.username!r}: a customer has no staff role")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UserRecord:
        """A record from its JSON form (see the module docstring)."""
        account = data.get("account_id")
        return cls(
            username=str(data["username"]),
            password_hash=str(data["password_hash"]),
            roles=frozenset(str(role) for role in data.get("roles", ())),
            account_id=None if account is None else str(account),
        )

    def claims(self) -> dict[str, Any]:
        """The claims the user's tokens carry beyond ``sub`` and ``scope``."""
        claims: dict[str, Any] = {"roles": sorted(self.roles)}
        if self.account_id is not None:
            claims[CUSTOMER_CLAIM] = self.account_id
        return claims


class UserRegistry:
    """The users who may sign in.

    Usage::

        users = UserRegistry.from_file(Path("/run/secrets/ledgerbridge-users.json"))
        user = users.authenticate("ops-ada", password)      # None when refused
        users.locked("ops-ada")                             # too many wrong passwords

    Failures are counted per username asked for, known or not, so a lock says nothing about
    whether a user exists.
    """

    def __init__(self, users: Iterable[UserRecord] = (), *, clock: Clock = time.monotonic) -> None:
        self._users = {user.username: user for user in users}
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    @classmethod
    def from_file(cls, path: Path) -> UserRegistry:
        """The users listed in a JSON file."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(UserRecord.from_json(entry) for entry in data)

    def register(self, user: UserRecord) -> None:
        """Add or replace a user."""
        self._users[user.username] = user

    def authenticate(self, username: str, password: str) -> UserRecord | None:
        """The user whose password this is, or None (also while the username is locked); an
        unknown name costs as much time."""
        user = self._users.get(username)
        verified = verify_secret(user.password_hash if user else None, password)
        if self.locked(username):
            return None
        if not verified:
            self._fail(username)
            return None
        self._failures.pop(username, None)
        return user

    def locked(self, username: str) -> bool:
        """Whether ``username`` took too many wrong passwords lately to sign in now."""
        failures = self._failures.get(username)
        if failures is None:
            return False
        horizon = self._clock() - LOCKOUT_SECONDS
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[username]
        return len(failures) >= MAX_FAILED_SIGN_INS

    def _fail(self, username: str) -> None:
        failures = self._failures.pop(username, None) or deque(maxlen=MAX_FAILED_SIGN_INS)
        if len(self._failures) >= _MAX_TRACKED:
            del self._failures[next(iter(self._failures))]
        failures.append(self._clock())
        self._failures[username] = failures  # re-inserted last: the most recently failed

    def __len__(self) -> int:
        return len(self._users)
