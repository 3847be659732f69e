"""LAN discovery: nodes find each other by zeroconf (DNS-SD `_kinode._tcp.local.`).

Off unless the node runs with `--discover`. A discovering node advertises its
service with TXT records `did`, `roles` (comma-separated) and
`path=/.well-known/kinode`, and browses for other nodes. A TXT record is only
a claim: a found node counts as a peer only after it answers the
key-possession challenge (kinode.challenge) for the DID it advertised. Peers
that fail are logged and ignored.

Zeroconf binds only to the addresses it is given (the node passes its
`--host`), so a node on 127.0.0.1 never multicasts on a real interface. A
found node's address must lie on one of those interfaces' networks: a LAN
announcement cannot steer the node into POSTing anywhere else.
"""

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import ifaddr
from zeroconf import InterfaceChoice, IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from kinode.challenge import CHALLENGE_TIMEOUT, challenge_peer
from kinode.errors import ChallengeFailed, DiscoveryFailed
from protocol.identity import is_did

SERVICE_TYPE = "_kinode._tcp.local."
DESCRIPTION_PATH = "/.well-known/kinode"
INFO_TIMEOUT_MS = 3000
WILDCARDS = ("", "0.0.0.0", "::")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Peer:
    """A node on the LAN that proved it holds the key of `did`; `url` is its base URL."""

    did: str
    url: str
    roles: tuple[str, ...]


class Discovery:
    """Advertise this node and report verified LAN peers to `on_peer`.

    `on_rejected(did, url, error)` hears of nodes whose challenge failed and
    `on_lost(peer)` of verified peers that withdrew their service; both optional.
    Challenges go through `session` if given (left open on stop), else an own one.
    """

    def __init__(self, on_peer: Callable[[Peer], None], *,
                 on_rejected: Callable[[str, str, ChallengeFailed], None] | None = None,
                 on_lost: Callable[[Peer], None] | None = None,
                 challenge_timeout: float = CHALLENGE_TIMEOUT,
                 session: aiohttp.ClientSession | None = None):
        self._on_peer, self._on_rejected, self._on_lost = on_peer, on_rejected, on_lost
        self._challenge_timeout = challenge_timeout
        self._given_session = session
        self.peers: dict[str, Peer] = {}  # by service name
        self._claims: dict[str, tuple[str, str]] = {}  # service name -> (did, url) last examined
        self._tasks: set[asyncio.Task] = set()
        self._zeroconf: AsyncZeroconf | None = None
        self._did = ""

    async def start(self, did: str, roles: list[str], port: int, host: str,
                    interfaces: list[str] | None = None) -> None:
        """Advertise `did` at `host`:`port` and browse, on `interfaces` (default: [host]) only."""
        interfaces = interfaces or [host]
        wildcard = any(address in WILDCARDS for address in interfaces)
        for address in interfaces:
            if address not in WILDCARDS and ipaddress.ip_address(address).version != 4:
                raise DiscoveryFailed(f"discovery runs over IPv4; {address} is not an IPv4 address")
        self._did = did
        self._networks = _networks(None if wildcard else interfaces)
        advertised = [host] if host not in WILDCARDS else _lan_addresses()
        try:
            self._zeroconf = AsyncZeroconf(interfaces=InterfaceChoice.All if wildcard else interfaces,
                                           ip_version=IPVersion.V4Only)
        except OSError as error:
            raise DiscoveryFailed(f"zeroconf could not start on {interfaces}: {error}") from None
        self._session = self._given_session or aiohttp.ClientSession(trust_env=False)
        name = f"kinode-{did[-10:]}-{port}"
        self._info = AsyncServiceInfo(
            SERVICE_TYPE, f"{name}.{SERVICE_TYPE}", port=port, server=f"{name}.local.",
            addresses=[socket.inet_aton(address) for address in advertised],
            properties={"did": did, "roles": ",".join(roles), "path": DESCRIPTION_PATH},
        )
        # The first await queues the probes and announcements; the second waits for them.
        await (await self._zeroconf.async_register_service(self._info, allow_name_change=True))
        self._browser = AsyncServiceBrowser(self._zeroconf.zeroconf, SERVICE_TYPE, handlers=[self._on_change])

    async def stop(self) -> None:
        """Withdraw the service, stop browsing and close zeroconf."""
        if self._zeroconf is None:
            return
        await self._browser.async_cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await (await self._zeroconf.async_unregister_service(self._info))  # goodbyes sent
        await self._zeroconf.async_close()
        if self._given_session is None:
            await self._session.close()
        self._zeroconf = None

    def _on_change(self, zeroconf: Zeroconf, service_type: str, name: str,
                   state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            self._claims.pop(name, None)
            peer = self.peers.pop(name, None)
            if peer is not None and self._on_lost is not None:
                self._on_lost(peer)
            return
        if name == self._info.name:
            return
        task = asyncio.get_running_loop().create_task(self._examine(name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _examine(self, name: str) -> None:
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if not await info.async_request(self._zeroconf.zeroconf, INFO_TIMEOUT_MS):
            log.info("no answer for the details of %s", name)
            return
        did = _text(info.properties.get(b"did"))
        if did == self._did:
            return  # ourselves, seen under an older name or on another interface
        url = self._url(info)
        if not is_did(did) or url is None:
            log.warning("ignoring %s: did %r, addresses %s", name, did, info.parsed_addresses())
            return
        if self._claims.get(name) == (did, url):
            return  # an update that changed nothing we verified
        self._claims[name] = (did, url)
        try:
            await challenge_peer(self._session, url, did, self._challenge_timeout)
        except ChallengeFailed as error:
            log.warning("LAN node %s at %s failed the challenge: %s", did, url, error)
            if self._on_rejected is not None:
                self._on_rejected(did, url, error)
            return
        if self._claims.get(name) != (did, url):
            return  # withdrawn or changed while we were asking
        roles = tuple(role for role in _text(info.properties.get(b"roles")).split(",") if role)
        peer = self.peers[name] = Peer(did, url, roles)
        self._on_peer(peer)

    def _url(self, info: AsyncServiceInfo) -> str | None:
        for address in info.parsed_addresses(IPVersion.V4Only):
            if any(ipaddress.ip_address(address) in network for network in self._networks):
                return f"http://{address}:{info.port}"
        return None


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value else ""


def _networks(addresses: list[str] | None) -> list[ipaddress.IPv4Network]:
    """The IPv4 networks of the interfaces holding `addresses` (None: of every interface)."""
    networks = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if ip.is_IPv4 and (addresses is None or ip.ip in addresses):
                networks.append(ipaddress.ip_network(f"{ip.ip}/{ip.network_prefix}", strict=False))
    for address in addresses or []:
        if not any(ipaddress.ip_address(address) in network for network in networks):
            networks.append(ipaddress.ip_network(f"{address}/32"))  # not on an interface: itself only
    return networks


def _lan_addresses() -> list[str]:
    """This host's own IPv4 addresses to advertise when the node listens on every interface."""
    own = [ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if ip.is_IPv4]
    lan = [address for address in own if not ipaddress.ip_address(address).is_loopback]
    return lan or own
