"""A username locked by wrong passwords, and unlocked as they age out."""

from __future__ import annotations

from ledgerbridge.runtime.security import UserRecord, UserRegistry, hash_secret
from ledgerbridge.runtime.security.users import LOCKOUT_SECONDS, MAX_FAILED_SIGN_INS

PASSWORD = "correct horse battery staple"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_locked_username_refuses_the_right_password_until_its_failures_age_out() -> None:
    clock = Clock()
    users = UserRegistry(
        [UserRecord("ops-ada", hash_secret(PASSWORD), frozenset({"operator"}))], clock=clock
    )
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        assert users.authenticate("ops-ada", "wrong") is None
        clock.now += 1
    assert not users.locked("ops-ada")
    assert users.authenticate("ops-ada", "wrong") is None
    assert users.locked("ops-ada")
    assert users.authenticate("ops-ada", PASSWORD) is None

    # The first failure ages out: one short of the limit again, and the right password works.
    clock.now = 1000.0 + LOCKOUT_SECONDS
    assert not users.locked("ops-ada")
    user = users.authenticate("ops-ada", PASSWORD)
    assert user is not None
    assert user.username == "ops-ada"
    # A success forgets the failures.
    assert users.authenticate("ops-ada", "wrong") is None
    assert not users.locked("ops-ada")


def test_a_success_before_the_limit_starts_the_count_again() -> None:
    users = UserRegistry([UserRecord("meridian", hash_secret(PASSWORD), frozenset({"operator"}))])
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        assert users.authenticate("meridian", "wrong") is None
    assert users.authenticate("meridian", PASSWORD) is not None
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        assert users.authenticate("meridian", "wrong") is None
    assert not users.locked("meridian")
