"""HTTP client sessions: trusted for operator-given URLs, guarded for learned ones.

The operator's --hub and --peer URLs may point anywhere, loopback included.
A URL the node learned by itself (a LAN announcement) is fetched only through
the SSRF guard: never a link-local or reserved address, loopback only when
the node itself listens on loopback, private addresses because that is what
a LAN is.
"""

import contextlib
import ipaddress

import aiohttp

from kinode.config import NodeConfig
from kinode.federation.ssrf import AddressPolicy, guarded_session


class Sessions:
    def __init__(self, configured: aiohttp.ClientSession, learned: aiohttp.ClientSession, trusted: set[str]):
        self.configured, self.learned, self._trusted = configured, learned, trusted

    def for_url(self, url: str) -> aiohttp.ClientSession:
        return self.configured if url.rstrip("/") in self._trusted else self.learned


def learned_policy(config: NodeConfig) -> AddressPolicy:
    try:
        on_loopback = ipaddress.ip_address(config.host).is_loopback
    except ValueError:
        on_loopback = config.host == "localhost"
    return AddressPolicy(allow_loopback=on_loopback, allow_private=True)


@contextlib.asynccontextmanager
async def open_sessions(config: NodeConfig):
    trusted = {url.rstrip("/") for url in (*config.hubs, *config.peers)}
    async with aiohttp.ClientSession(trust_env=False) as configured, guarded_session(learned_policy(config)) as learned:
        yield Sessions(configured, learned, trusted)
