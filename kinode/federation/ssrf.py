"""SSRF guard for URLs the node learns from others (objects, hub announcements).

A URL in a signed object is attacker-chosen. Fetching it must not let the
author reach the node's own services (loopback), its LAN (private ranges),
cloud metadata (169.254.169.254) or anything else that is not the public
internet, whatever spelling the address hides behind: IPv4-mapped,
IPv4-compatible, 6to4, Teredo and NAT64 IPv6 forms are judged by the IPv4
address they embed.

Two ways in:

- `resolve_and_check(url, policy)`: validate a URL up front (e.g. before
  storing a hub's address) and get the addresses it resolves to.
- `guarded_session(policy)`: an aiohttp `ClientSession` that applies the
  policy on every connection it makes, redirects included. Names go through
  `GuardedResolver`, so the addresses checked are exactly the addresses the
  connector connects to: there is no second lookup for a DNS-rebinding
  attacker to answer differently. IP literals never reach a resolver in
  aiohttp, so a client middleware (run once per redirect hop) checks those.
"""

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from kinode.errors import BadUrl, ForbiddenAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_PRIVATE = tuple(map(ipaddress.ip_network, (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
    "fc00::/7",   # unique local addresses
    "fec0::/10",  # deprecated site-local, still routed privately by some stacks
)))
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = tuple(map(ipaddress.ip_network, ("64:ff9b::/96", "64:ff9b:1::/48")))
_DIGITS_AND_DOTS = re.compile(r"[0-9.]+")


def address_kind(ip: IPAddress) -> str:
    """The kind of address `ip` is: "global", or why it is not a public internet address.

    One of: loopback, private, shared (CGNAT 100.64/10), link_local,
    unspecified, multicast, reserved (anything else not globally routable:
    documentation, benchmarking, 240/4, broadcast...). IPv6 forms that embed
    an IPv4 address are judged by that address.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ip.ipv4_mapped or _ipv4_compatible(ip) or ip
    if isinstance(ip, ipaddress.IPv6Address):
        for embedded in _tunnelled_ipv4(ip):
            kind = address_kind(embedded)
            if kind != "global":
                return kind
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip in _SHARED:
        return "shared"
    if any(ip in network for network in _PRIVATE):
        return "private"
    return "global" if ip.is_global else "reserved"


def _ipv4_compatible(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # ::a.b.c.d (deprecated) still reaches a.b.c.d on some stacks; :: and ::1 are not of this form.
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _tunnelled_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = []
    if ip.sixtofour:
        found.append(ip.sixtofour)
    if ip.teredo:
        found.extend(ip.teredo)  # (server, client); either could be the target
    if any(ip in network for network in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


@dataclass(frozen=True)
class AddressPolicy:
    """Which non-public addresses the node may connect to.

    The default allows only global addresses. `allow_loopback` admits
    127/8 and ::1 (tests, a hub on the same machine); `allow_private` admits
    RFC 1918, unique-local IPv6 and CGNAT (a hub on the LAN). Link-local
    (cloud metadata), unspecified, multicast and reserved are never allowed.
    """

    allow_loopback: bool = False
    allow_private: bool = False

    def permits(self, ip: IPAddress) -> bool:
        """Whether the node may connect to `ip`."""
        kind = address_kind(ip)
        return (
            kind == "global"
            or (kind == "loopback" and self.allow_loopback)
            or (kind in ("private", "shared") and self.allow_private)
        )

    def check(self, ip: IPAddress, host: str) -> None:
        """Raise `ForbiddenAddress` unless the policy permits `ip` (which `host` named)."""
        if not self.permits(ip):
            named = "" if host == str(ip) else f" ({host})"
            raise ForbiddenAddress(f"refusing to connect to {ip}{named}: a {address_kind(ip).replace('_', '-')} address")


DEFAULT_POLICY = AddressPolicy()


def parse_url(url: str) -> yarl.URL:
    """`url` parsed as aiohttp will parse it; `BadUrl` unless it is plain http(s) with a host.

    Refused: other schemes, userinfo (user:pass@ hides the real host from
    careless readers and leaks credentials), and legacy numeric hosts such
    as 127.1 or 2130706433 that resolvers read differently.
    """
    try:
        parsed = yarl.URL(url)
        port = parsed.port
    except (ValueError, TypeError) as exc:
        raise BadUrl(f"{url!r} is not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise BadUrl(f"{url!r}: only http and https URLs are fetched")
    if "@" in parsed.raw_authority:
        raise BadUrl(f"{url!r}: URLs with user information are refused")
    if not parsed.host or port is None:
        raise BadUrl(f"{url!r} has no host")
    if _DIGITS_AND_DOTS.fullmatch(parsed.host) and _literal(parsed.host) is None:
        raise BadUrl(f"{url!r}: {parsed.host!r} is not a dotted-quad IPv4 address")
    return parsed


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve_and_check(url: str, policy: AddressPolicy = DEFAULT_POLICY) -> list[str]:
    """The addresses `url`'s host resolves to, all permitted by `policy`.

    Raises `BadUrl` for a URL that is not plain http(s), `ForbiddenAddress`
    if any address is refused (a name that resolves to both public and
    private addresses is a rebinding set-up, not a reason to pick one), and
    OSError (socket.gaierror) if the name does not resolve.
    """
    parsed = parse_url(url)
    host = parsed.host
    assert host is not None
    literal = _literal(host)
    if literal is not None:
        policy.check(literal, host)
        return [str(literal)]
    infos = await asyncio.get_running_loop().getaddrinfo(host, parsed.port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        policy.check(ipaddress.ip_address(address), host)
    return addresses


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses names resolving to addresses `policy` forbids."""

    def __init__(self, policy: AddressPolicy = DEFAULT_POLICY, inner: AbstractResolver | None = None):
        self.policy = policy
        self._inner = inner or aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            self.policy.check(ipaddress.ip_address(result["host"]), host)
        return results

    async def close(self) -> None:
        await self._inner.close()


def literal_address_guard(policy: AddressPolicy) -> aiohttp.ClientMiddlewareType:
    """A client middleware refusing requests to IP literals `policy` forbids."""

    async def guard(request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
        host = request.url.host or ""
        literal = _literal(host)
        if literal is not None:
            policy.check(literal, host)
        elif _DIGITS_AND_DOTS.fullmatch(host):
            raise BadUrl(f"{host!r} is not a dotted-quad IPv4 address")
        return await handler(request)

    return guard


def guarded_session(policy: AddressPolicy = DEFAULT_POLICY, **session_kwargs) -> aiohttp.ClientSession:
    """A ClientSession whose every connection, redirects included, obeys `policy`.

    Call inside a running event loop; close it (`async with`) as any session.
    Environment proxies are ignored: through a proxy the target address
    would be resolved where this guard cannot see it.
    """
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(policy))
    middlewares = (literal_address_guard(policy), *session_kwargs.pop("middlewares", ()))
    return aiohttp.ClientSession(connector=connector, middlewares=middlewares, trust_env=False, **session_kwargs)
