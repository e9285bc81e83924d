"""Which callback URLs a partner may register: public HTTPS endpoints only.

A webhook is a request our servers make to an address a partner chose, so the address is
checked against an allow-list of what may be reached (server-side request forgery): HTTPS
only, no credentials in the URL, no localhost or internal names, and no literal address in a
loopback, private, link-local or otherwise non-public range. When ``allowed_domains`` is
given, the host must also be one of them or below one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from urllib.parse import urlsplit

_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa")


class CallbackRefused(ValueError):
    """A callback URL that webhooks may not be sent to."""


def check_callback_url(url: str, *, allowed_domains: Collection[str] = ()) -> str:
    """``url`` unchanged when webhooks may go there; `CallbackRefused` saying why otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise CallbackRefused(f"scheme {parts.scheme or '(none)'!r} is not https")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused("credentials in the URL are not accepted")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise CallbackRefused("the URL has no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused("the port is not a number") from exc
    if port is not None and port not in (443, 8443):
        raise CallbackRefused(f"port {port} is not 443 or 8443")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if not address.is_global or address.is_multicast:
            raise CallbackRefused(f"{host} is not a public address")
    elif host == "localhost" or host.endswith(_INTERNAL_SUFFIXES) or "." not in host:
        raise CallbackRefused(f"{host} is an internal name")
    elif _numeric_label(host.rsplit(".", 1)[1]):
        # Resolvers read "0x7f.1" or "127.1" as addresses; no real domain ends in a number.
        raise CallbackRefused(f"{host} is an address in disguise")
    if allowed_domains and not any(
        host == domain or host.endswith("." + domain) for domain in allowed_domains
    ):
        raise CallbackRefused(f"{host} is not in the allowed domains")
    return url


def _numeric_label(label: str) -> bool:
    return label.isdigit() or label.startswith("0x")
