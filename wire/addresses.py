"""Which network addresses an upstream may have (pure; shared by the control plane's check at
registration and the proxy's check at connect time).

An address is *public* when it is globally routable unicast: not loopback, private (RFC 1918,
ULA fc00::/7), CGNAT (100.64.0.0/10), link-local (169.254.0.0/16 — cloud metadata at
169.254.169.254 included — and fe80::/10), unspecified, multicast, reserved or documentation.
IPv6 forms that carry an IPv4 address are judged by the IPv4 address they carry: v4-mapped
(::ffff:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16); the local-use NAT64 prefix
64:ff9b:1::/48 and Teredo (2001::/32) are never public.
"""

from __future__ import annotations

import ipaddress
import socket

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_TEREDO = ipaddress.IPv6Network("2001::/32")


def host_ip(host: str) -> IP | None:
    """The address a URL host names literally (brackets, a trailing dot and the legacy IPv4
    forms a resolver accepts — 127.1, 0x7f000001, 2130706433 — included), else None."""
    text = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def carried_v4(ip: IP) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), else None."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def is_public(ip: IP) -> bool:
    """True for a globally routable unicast address (the module docstring lists what is not)."""
    if isinstance(ip, ipaddress.IPv6Address) and (ip in _NAT64_LOCAL or ip in _TEREDO):
        return False
    inner = carried_v4(ip)
    if inner is not None:
        ip = inner
    return ip.is_global and not (ip.is_multicast or ip.is_unspecified or ip.is_reserved or ip.is_loopback
                                 or ip.is_link_local)


def allowed(ip: IP, networks: tuple[Network, ...]) -> bool:
    """Public, or inside one of the operator's allowed networks (DF_UPSTREAM_ALLOW_NETWORKS)."""
    if is_public(ip):
        return True
    candidates = [ip] + ([inner] if (inner := carried_v4(ip)) is not None else [])
    return any(c in net for c in candidates for net in networks if c.version == net.version)
