"""`--discover`: advertise this node on the LAN and take verified hubs as remotes.

A participant's node publishes to the hubs it discovers; a hub federates with
the hubs it discovers. Only peers that passed the key challenge get here
(kinode.federation.discovery); what they serve is then learned like any remote's.
"""

import asyncio
import logging

from kinode.federation.discovery import Discovery, Peer
from kinode.node import Node, Remote
from kinode.federation.remotes import describe_remote
from kinode.federation.sessions import Sessions

log = logging.getLogger("kinode.federation.discovery")


async def discover_forever(node: Node, sessions: Sessions) -> None:
    """Announced URLs are learned, not configured: every fetch goes through the SSRF guard."""
    found: asyncio.Queue[Peer] = asyncio.Queue()
    discovery = Discovery(on_peer=found.put_nowait, session=sessions.learned)
    config = node.config
    await discovery.start(node.did, list(config.roles), config.port, config.host)
    log.info("discovery on: advertising %s on %s", node.did, config.host)
    try:
        while True:
            peer = await found.get()
            if "hub" not in peer.roles or peer.url.rstrip("/") in node.remotes:
                continue
            remote = Remote(peer.url.rstrip("/"))
            node.remotes[remote.url] = remote
            log.info("discovered hub %s at %s", peer.did, peer.url)
            await describe_remote(node, sessions.learned, remote)
    finally:
        await discovery.stop()
