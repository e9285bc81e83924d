"""Errors the CRM sandbox answers with, in Salesforce's body `[{message, errorCode, fields}]`."""

from __future__ import annotations


class SalesforceError(Exception):
    """A refusal the API reports as an HTTP status and one Salesforce error item."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, object]]:
        """The JSON body Salesforce sends for this error."""
        item: dict[str, object] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


def not_found(message: str = "The requested resource does not exist") -> SalesforceError:
    """The 404 Salesforce answers for an unknown object, record or path."""
    return SalesforceError(404, "NOT_FOUND", message)


def invalid_session() -> SalesforceError:
    """The 401 that makes clients log in again."""
    return SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")


class MultipleChoices(SalesforceError):
    """The 300 an external id lookup or upsert gives when several records match."""

    def __init__(self, message: str, type_name: str, ids: list[str]) -> None:
        super().__init__(300, "MULTIPLE_CHOICES", message)
        self.type_name = type_name
        self.ids = ids
