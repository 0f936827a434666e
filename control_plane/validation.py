"""Pure checks of request values; each failure is a BadRequest naming the field and the fix."""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from control_plane.errors import BadRequest
from wire.addresses import host_ip, is_public
from wire.money import MoneyFormatError, micros_to_usd, usd_to_micros

MAX_CIDRS = 100
MAX_ALLOWLIST = 200
_KEY_GROUP = re.compile(r"^[a-z0-9_-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise BadRequest(f"email: {email[:80]!r} is not an email address such as name@example.com")
    return email


def check_key_group(value: str, field: str = "key_group") -> str:
    if not _KEY_GROUP.match(value):
        raise BadRequest(
            f"{field}: {value[:80]!r} is not allowed; use 1-64 lowercase letters, digits, dashes or underscores"
        )
    return value


def check_name(value: str, field: str, *, required: bool = False, max_len: int = 100) -> str:
    """A display name or model name: trimmed, at most `max_len` characters, printable only (no
    control characters or line breaks: these values end up in response headers and logs)."""
    value = value.strip()
    if required and not value:
        raise BadRequest(f"{field}: must not be empty")
    if len(value) > max_len:
        raise BadRequest(f"{field}: too long ({len(value)} characters); use at most {max_len}")
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        raise BadRequest(f"{field}: contains the control character U+{ord(bad):04X}; use printable characters only")
    return value


def check_cidrs(values: list[str], field: str) -> list[str]:
    """Normalised CIDR strings. Refuses host bits, zone ids, whitespace and more than MAX_CIDRS."""
    if len(values) > MAX_CIDRS:
        raise BadRequest(f"{field}: {len(values)} entries; at most {MAX_CIDRS} are allowed")
    out: list[str] = []
    for i, raw in enumerate(values):
        where = f"{field}[{i}]"
        if raw != raw.strip() or not raw or "%" in raw:
            raise BadRequest(f"{where}: {raw[:60]!r} is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32")
        try:
            net = ipaddress.ip_network(raw, strict=True)
        except ValueError as exc:
            hint = " (host bits are set: use the network address)" if "host bits" in str(exc) else ""
            raise BadRequest(
                f"{where}: {raw[:60]!r} is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32{hint}"
            ) from exc
        text = str(net)
        if text not in out:
            out.append(text)
    return out


def check_uuid(value: str, field: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise BadRequest(f"{field}: {value[:60]!r} is not a UUID") from exc


def parse_time(value: str, field: str, *, now: datetime, future: bool = True) -> datetime:
    """An ISO 8601 time with an explicit offset (e.g. 2027-01-31T00:00:00Z)."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"{field}: {value[:60]!r} is not an ISO 8601 time such as 2027-01-31T00:00:00Z") from exc
    if when.tzinfo is None:
        raise BadRequest(f"{field}: {value[:60]!r} has no time zone; add Z for UTC (e.g. {value[:19]}Z)")
    when = when.astimezone(UTC)
    if future and when <= now:
        raise BadRequest(f"{field}: {value[:60]!r} is in the past; use a future time or omit it")
    return when


def price_micros(value: str, field: str) -> int:
    """A decimal USD-per-million-tokens string ("0.40") as integer micro-USD."""
    if not isinstance(value, str):
        raise BadRequest(f'{field}: send the price as a decimal string such as "0.40"')
    try:
        micros = usd_to_micros(value)
    except MoneyFormatError as exc:
        raise BadRequest(f"{field}: {exc}") from exc
    if micros > 10_000 * 1_000_000:
        raise BadRequest(f"{field}: {value!r} is above the 10000.00 USD per million tokens ceiling")
    return micros


def check_cached_ask(ask_input: int, ask_cached_input: int | None) -> None:
    """A cached prompt token may cost at most an uncached one (README "Billing": "Charge caps")."""
    if ask_cached_input is not None and ask_cached_input > ask_input:
        raise BadRequest(
            f"ask_cached_input: {micros_to_usd(ask_cached_input)} is above ask_input {micros_to_usd(ask_input)}; "
            "a cached prompt token may cost at most an uncached one: lower ask_cached_input (or null it to "
            "charge ask_input for cached tokens)"
        )


def cents_to_micros(cents: int, field: str, *, positive: bool = False) -> int:
    if cents < 0 or (positive and cents == 0):
        raise BadRequest(f"{field}: must be {'greater than 0' if positive else '0 or more'} (US cents)")
    if cents > 10**10:
        raise BadRequest(f"{field}: {cents} is too large")
    return cents * 10_000


def check_base_url(value: str, field: str = "base_url", *, allow_private: bool,
                   ports: tuple[int, ...] = (80, 443, 8443)) -> str:
    """An upstream base URL without trailing slash. Refused unless the operator allows private
    upstreams (DF_ALLOW_PRIVATE_UPSTREAMS=1): IP literals that are not public (`wire.addresses`:
    loopback, private, CGNAT, link-local/metadata, NAT64/6to4/mapped forms of those, legacy forms
    like 127.1), local names (`localhost`, `*.internal`, `*.local`, single labels — with or
    without a trailing dot), plain http, and ports outside `ports` (DF_UPSTREAM_PORTS; empty =
    any). Names are resolved at registration too (`http.upstream_names`), and the proxy checks
    every resolved address again when it connects (`proxy.egress`)."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise BadRequest(f"{field}: {value[:100]!r} is not a URL such as https://api.example.com/v1") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise BadRequest(f"{field}: {value[:100]!r} is not an http(s) URL such as https://api.example.com/v1")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise BadRequest(f"{field}: remove credentials, query and fragment; send the key as api_key")
    if not text.isprintable() or any(c.isspace() for c in text):
        raise BadRequest(f"{field}: must not contain spaces or control characters")
    if not allow_private:
        ip = host_ip(host)
        name = host.rstrip(".").lower()
        local_name = name == "localhost" or name.endswith(_PRIVATE_SUFFIXES) or "." not in name
        if (ip is not None and not is_public(ip)) or (ip is None and local_name):
            raise BadRequest(
                f"{field}: {host!r} is a private, loopback or link-local address; upstreams must be public "
                f"(operators can allow private upstreams with DF_ALLOW_PRIVATE_UPSTREAMS=1)"
            )
        if parts.scheme != "https":
            raise BadRequest(f"{field}: use https:// for public upstreams")
        effective = port if port is not None else 443
        if ports and effective not in ports:
            raise BadRequest(f"{field}: port {effective} is not allowed; use one of "
                             f"{', '.join(map(str, ports))} (operators set DF_UPSTREAM_PORTS)")
    return text.rstrip("/")


def daily_quota(value: int | None, field: str) -> int | None:
    """A daily request limit or token quota: a positive integer, or null for none (reset 00:00 UTC)."""
    if value is not None and not 0 < value <= 2**53:
        raise BadRequest(f"{field}: must be a positive integer (per UTC day), or null for no daily limit")
    return value
