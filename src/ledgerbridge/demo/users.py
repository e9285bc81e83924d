"""The demo's users: a customer bound to one of the seeded CRM accounts, an operator and an
administrator, all with the password of ``auth.demo_password`` (a documented demo default)."""

from __future__ import annotations

from ledgerbridge.runtime.house import House
from ledgerbridge.runtime.security import (
    ADMINISTRATOR,
    CUSTOMER,
    OPERATOR,
    UserRecord,
    hash_secret,
    token_service_of,
)
from ledgerbridge.runtime.settings import AuthSettings

WEB_CALLBACK = "/experience/web/v1/signin/callback"


def demo_redirect_uris(port: int) -> tuple[str, ...]:
    """The pages' callbacks for a house served on ``port`` of this machine."""
    return tuple(f"http://{host}:{port}{WEB_CALLBACK}" for host in ("127.0.0.1", "localhost"))


def seed_users(house: House, auth: AuthSettings, *, customer_account: str) -> list[str]:
    """Register the demo users with the house's token service; their descriptions."""
    service = token_service_of(house.app)
    if service is None:
        return []
    hashed = hash_secret(auth.demo_password.get_secret_value())
    users = [
        UserRecord("demo-customer", hashed, frozenset({CUSTOMER}), account_id=customer_account),
        UserRecord("demo-operator", hashed, frozenset({OPERATOR})),
        UserRecord("demo-admin", hashed, frozenset({ADMINISTRATOR})),
    ]
    for user in users:
        service.users.register(user)
    return [
        f"{user.username} ({', '.join(sorted(user.roles))}"
        + (f" of account {user.account_id})" if user.account_id else ")")
        for user in users
    ]
