"""A Tryton wizard session driven as a person would: read the form, fill it, press a button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledgerbridge.connectors.tryton import _errors

Call = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class WizardStep:
    """One press of a wizard button: the values typed into the form shown, then the button.

    The form's own defaults are kept for every field not named in ``values``.
    """

    button: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WizardResult:
    """How a wizard ended: the form it stopped on (None when it closed) and its actions."""

    state: str | None
    form: Mapping[str, Any]
    actions: list[Any]


class WizardSession:
    """One open wizard; get it from ``TrytonClient.wizard`` (strictly private constructor).

    Usage::

        async with tryton.wizard("account.invoice.pay", model="account.invoice", ids=[i]) as w:
            await w.press("choice", {"payment_method": method_id})
    """

    def __init__(self, call: Call, name: str, session: int, context: dict[str, Any]) -> None:
        self._call = call
        self._name = name
        self._session = session
        self._context = context
        self.state: str | None = None
        """The state whose form is on screen; None once the wizard closed."""
        self.form: dict[str, Any] = {}
        """The form's values as Tryton filled them in (defaults and computed values)."""
        self.actions: list[Any] = []
        """Every action the wizard returned so far (reports, windows to open)."""

    async def open(self, start: str) -> None:
        """Run the start state (called once by ``TrytonClient.wizard``)."""
        await self._execute({}, start)

    async def press(self, button: str, values: Mapping[str, Any] | None = None) -> None:
        """Fill the form on screen with ``values`` over its own, then press ``button``.

        Raises:
            BackendUnavailable: the wizard has no form on screen anymore.
        """
        if self.state is None:
            raise _errors.from_payload(f"wizard {self._name} closed before {button!r}")
        await self._execute({self.state: self.form | dict(values or {})}, button)

    def result(self) -> WizardResult:
        """Where the wizard stands: the form on screen, if any, and the actions so far."""
        return WizardResult(state=self.state, form=dict(self.form), actions=list(self.actions))

    async def _execute(self, data: dict[str, Any], state: str) -> None:
        result = await self._call(
            f"wizard.{self._name}.execute", self._session, data, state, self._context
        )
        if not isinstance(result, dict):
            raise _errors.from_payload(f"wizard {self._name} answered {type(result).__name__}")
        view = result.get("view")
        self.actions.extend(result.get("actions", []))
        if view is None:
            self.state, self.form = None, {}
            return
        self.state = view["state"]
        merged = {**view.get("defaults", {}), **view.get("values", {})}
        # The defaults carry display helpers of related fields ("party.rec_name");
        # the wizard takes field values only.
        self.form = {name: value for name, value in merged.items() if "." not in name}
