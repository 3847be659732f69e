"""LAN discovery: nodes find each other by zeroconf (DNS-SD `_kinode._tcp.local.`).

Off unless the node runs with `--discover`. A discovering node advertises its
service with TXT records `did`, `roles` (comma-separated) and
`path=/.well-known/kinode`, and browses for other nodes. A TXT record is only
a claim: a found node counts as a peer only after it answers the
key-possession challenge (kinode.federation.challenge) for the DID it advertised. Peers
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

from kinode.federation.challenge import CHALLENGE_TIMEOUT, challenge_peer
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
        self._claims: dict[str, Peer] = {}  # by service name: what it claimed when last examined
        self._tasks: set[asyncio.Task] = set()
        self._zeroconf: AsyncZeroconf | None = None
        self._did = ""

    async def start(self, did: str, roles: list[str], port: int, host: str,
                    interfaces: list[str] | None = None) -> None:
        """Advertise `did` at `host`:`port` and browse, on `interfaces` (default: [host]) only."""
        interfaces = interfaces or [host]
        wildcard = any(address in WILDCARDS for address in interfaces)
        for address in interfaces:
            if address not in WILDCARDS and not _is_ipv4(address):
                raise DiscoveryFailed(f"discovery runs over IPv4 and needs the host's address; {address!r} is not one")
        self._did = did
        self._networks = interface_networks(None if wildcard else interfaces)
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
        try:
            # The first await queues the probes and announcements; the second waits for them.
            await (await self._zeroconf.async_register_service(self._info, allow_name_change=True))
        except BaseException:
            await self._zeroconf.async_close()
            if self._given_session is None:
                await self._session.close()
            self._zeroconf = None
            raise
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
        url = peer_url(info, self._networks)
        if not is_did(did) or url is None:
            log.warning("ignoring %s: did %r, addresses %s", name, did, info.parsed_addresses())
            return
        roles = tuple(role for role in _text(info.properties.get(b"roles")).split(",") if role)
        claim = Peer(did, url, roles)
        if self._claims.get(name) == claim:
            return  # already examined; a node that failed is retried only once its claim changes
        self._claims[name] = claim
        try:
            await challenge_peer(self._session, url, did, self._challenge_timeout)
        except ChallengeFailed as error:
            log.warning("LAN node %s at %s failed the challenge: %s", did, url, error)
            if self._on_rejected is not None:
                self._on_rejected(did, url, error)
            return
        if self._claims.get(name) != claim:
            return  # withdrawn or changed while we were asking
        peer = self.peers[name] = claim
        self._on_peer(peer)

def peer_url(info: AsyncServiceInfo, networks: list[ipaddress.IPv4Network]) -> str | None:
    """The base URL of the node `info` describes, at its first address on one of `networks`."""
    for address in info.parsed_addresses(IPVersion.V4Only):
        if any(ipaddress.ip_address(address) in network for network in networks):
            return f"http://{address}:{info.port}"
    return None


def _is_ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value else ""


def interface_networks(addresses: list[str] | None) -> list[ipaddress.IPv4Network]:
    """The IPv4 networks of the interfaces holding `addresses`.

    None means every interface but loopback: a node listening everywhere must
    not let a LAN announcement point it at its own loopback services.
    """
    networks = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if not ip.is_IPv4:
                continue
            network = ipaddress.ip_network(f"{ip.ip}/{ip.network_prefix}", strict=False)
            if ip.ip in (addresses or ()) or (addresses is None and not network.is_loopback):
                networks.append(network)
    for address in addresses or []:
        if not any(ipaddress.ip_address(address) in network for network in networks):
            networks.append(ipaddress.ip_network(f"{address}/32"))  # not on an interface: itself only
    return networks


def _lan_addresses() -> list[str]:
    """This host's own IPv4 addresses to advertise when the node listens on every interface."""
    own = [ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if ip.is_IPv4]
    lan = [address for address in own if not ipaddress.ip_address(address).is_loopback]
    return lan or own
