"""SAP Gateway style errors: an exception the routes raise and the body it renders to."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


class ODataError(Exception):
    """A request the service refuses, rendered as SAP's error body with `status`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details or []

    def body(self) -> dict[str, Any]:
        """The `{"error": ...}` document SAP Gateway returns."""
        return {
            "error": {
                "code": self.code,
                "message": {"lang": "en", "value": self.message},
                "innererror": {
                    "application": {
                        "component_id": "SD-SLS-API" if "SALES" in self.code else "LO-MD-BP",
                        "service_namespace": "/SAP/",
                        "service_id": "",
                        "service_version": "0001",
                    },
                    "transactionid": uuid.uuid4().hex.upper(),
                    "timestamp": datetime.now(UTC).strftime("%Y%m%d%H%M%S.%f"),
                    "Error_Resolution": {
                        "SAP_Transaction": (
                            "Run transaction /IWFND/ERROR_LOG on SAP Gateway hub system"
                        ),
                        "SAP_Note": "See SAP Note 1797736 for error analysis",
                    },
                    "errordetails": [
                        {
                            "code": d.get("code", self.code),
                            "message": d["message"],
                            "severity": "error",
                        }
                        for d in self.details
                    ],
                },
            }
        }


def bad_request(message: str, code: str = "/IWBEP/CM_MGW_RT/020") -> ODataError:
    """400 for malformed requests and validation failures."""
    return ODataError(400, code, message)


def not_found(message: str) -> ODataError:
    """404 for an unknown resource or key."""
    return ODataError(404, "/IWBEP/CM_MGW_RT/021", message)
