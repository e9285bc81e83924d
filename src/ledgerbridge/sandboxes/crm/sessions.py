"""Logging in and staying in: OAuth grants, SOAP login and the session check on data calls."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from starlette.responses import Response

from ledgerbridge.sandboxes.crm import assertions
from ledgerbridge.sandboxes.crm.changes import change_origin
from ledgerbridge.sandboxes.crm.errors import SalesforceError, invalid_session, not_found
from ledgerbridge.sandboxes.crm.faults import Fault, FaultInjector
from ledgerbridge.sandboxes.crm.objects import ORG_ID, USER_ID
from ledgerbridge.sandboxes.crm.routing import VERSIONED, json_response
from ledgerbridge.sandboxes.crm.state import SandboxState, Settings
from ledgerbridge.sandboxes.crm.wire import SalesforceJSON

OLDEST_VERSION = 52
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _oauth_error(error: str, description: str = "authentication failure") -> Response:
    return json_response({"error": error, "error_description": description}, 400)


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _user_matches(settings: Settings, username: str | None, password: str | None) -> bool:
    # The security token may be appended to the password, as Salesforce allows.
    return _same(username, settings.username) and (
        _same(password, settings.password)
        or _same(password, settings.password + settings.security_token)
    )


def _start_session(state: SandboxState) -> tuple[str, str]:
    issued_at = str(int(time.time() * 1000))
    token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
    state.store.add_session(token, int(issued_at))
    return token, issued_at


def _token_body(request: Request, state: SandboxState) -> dict[str, str]:
    token, issued_at = _start_session(state)
    instance_url = str(request.base_url).rstrip("/")
    identity = f"{instance_url}/id/{ORG_ID}/{USER_ID}"
    digest = hmac.new(
        state.settings.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
    ).digest()
    return {
        "access_token": token,
        "instance_url": instance_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": base64.b64encode(digest).decode(),
        "scope": "api",
    }


def _jwt_grant(request: Request, state: SandboxState, assertion: str) -> Response:
    settings = state.settings
    if settings.jwt_key is None:
        return _oauth_error("invalid_grant", "no certificate is configured for the JWT flow")
    try:
        assertions.verify(
            assertion,
            settings.jwt_key,
            client_id=settings.client_id,
            username=settings.username,
            now=state.store.clock(),
        )
    except assertions.InvalidAssertion as exc:
        return _oauth_error("invalid_grant", str(exc))
    return json_response(_token_body(request, state))


def _xml_value(document: str, name: str) -> str | None:
    match = re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", document, re.DOTALL)
    return html.unescape(match.group(1)) if match else None


_SOAP_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\
<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>\
<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.\
</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault">\
<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>\
<sf:exceptionMessage>Invalid username, password, security token; or user locked out.\
</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"""

_SOAP_RESULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\
<soapenv:Body><loginResponse><result>\
<metadataServerUrl>{base}/services/Soap/m/{version}/{org}</metadataServerUrl>\
<passwordExpired>false</passwordExpired><sandbox>true</sandbox>\
<serverUrl>{base}/services/Soap/u/{version}/{org}</serverUrl>\
<sessionId>{session}</sessionId><userId>{user}</userId>\
<userInfo><organizationId>{org}</organizationId><userId>{user}</userId>\
<userName>{username}</userName></userInfo>\
</result></loginResponse></soapenv:Body></soapenv:Envelope>"""


def install(app: FastAPI, state: SandboxState, faults: FaultInjector) -> None:
    """Add the login endpoints, the session check and fault injection to `app`."""
    settings = state.settings

    @app.post("/services/oauth2/token")
    async def token(request: Request) -> Response:
        """Issue an access token: client credentials, password or JWT bearer grant."""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(basic[6:]).decode()
            except ValueError:
                return _oauth_error("invalid_client")
            client_id, _, client_secret = decoded.partition(":")
        grant = form.get("grant_type")
        if grant == JWT_BEARER:
            return _jwt_grant(request, state, form.get("assertion", ""))
        if grant not in ("client_credentials", "password"):
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        if not (
            _same(client_id, settings.client_id) and _same(client_secret, settings.client_secret)
        ):
            return _oauth_error("invalid_client")
        if grant == "password" and not _user_matches(
            settings, form.get("username"), form.get("password")
        ):
            return _oauth_error("invalid_grant")
        return json_response(_token_body(request, state))

    @app.post("/services/Soap/u/{version}")
    async def soap_login(version: str, request: Request) -> Response:
        """The SOAP partner login: a session id and the server URL in XML."""
        document = (await request.body()).decode(errors="replace")
        if not _user_matches(
            settings, _xml_value(document, "username"), _xml_value(document, "password")
        ):
            return Response(_SOAP_FAULT, status_code=500, media_type="text/xml")
        session, _ = _start_session(state)
        body = _SOAP_RESULT.format(
            base=str(request.base_url).rstrip("/"),
            version=version,
            org=ORG_ID,
            user=USER_ID,
            session=session,
            username=html.escape(settings.username),
        )
        return Response(body, media_type="text/xml")

    @app.middleware("http")
    async def check_session(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Inject faults, then check the session, count and report usage on data calls."""
        try:
            await faults.apply(request.method, request.url.path)
        except Fault as fault:
            body = [{"message": fault.message, "errorCode": fault.error_code}]
            return SalesforceJSON(body, status_code=fault.status, headers=fault.headers)
        match = VERSIONED.match(request.url.path)
        if match is None:
            return await call_next(request)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not state.store.has_session(token):
            return json_response(invalid_session().body(), 401)
        limit = settings.daily_request_limit
        used = state.store.count_request()
        usage = {"Sforce-Limit-Info": f"api-usage={used}/{limit}"}
        if used > limit:
            refusal = SalesforceError(
                403, "REQUEST_LIMIT_EXCEEDED", f"TotalRequests Limit exceeded. Limit: {limit}"
            )
            return SalesforceJSON(refusal.body(), status_code=403, headers=usage)
        client = re.search(r"client=([^,;]+)", request.headers.get("sforce-call-options", ""))
        origin = f"com/salesforce/api/rest/{match.group(1)}"
        change_origin.set(origin + (f";client={client.group(1)}" if client else ""))
        newest = int(float(settings.api_version))
        if int(float(match.group(1))) not in range(OLDEST_VERSION, newest + 1):
            response = json_response(not_found().body(), 404)
        else:
            response = await call_next(request)
        response.headers.update(usage)
        return response
