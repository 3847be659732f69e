"""LAN discovery: real discovering processes find and verify each other.

No test here multicasts on the machine's interfaces. Every zeroconf instance
runs in a child process (tests/kinode/lan_peer.py) that first moves into a
network namespace of its own, whose only interface is a private loopback; the
harness refuses to go on if it sees any other interface. Where namespaces are
not available (no privilege, not Linux) that test skips.
"""

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import pytest
from zeroconf.asyncio import AsyncServiceInfo

from kinode.federation.discovery import SERVICE_TYPE, Discovery, interface_networks, peer_url
from kinode.errors import DiscoveryFailed
from protocol.identity import Identity

HARNESS = Path(__file__).with_name("lan_peer.py")
DEADLINE = 60.0  # generous for a loaded CI machine; waits end as soon as the event arrives

ALICE, BOB, MALLORY, VICTIM = (Identity(bytes([n]) * 32) for n in (1, 2, 3, 4))


class Lan:
    """The harness process and every event its peers have reported so far."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.events: list[dict] = []

    async def next_event(self) -> dict:
        line = await self.process.stdout.readline()
        if not line:
            raise AssertionError(f"the harness ended early; events so far: {self.events}")
        event = json.loads(line)
        self.events.append(event)
        return event

    async def wait_for(self, *wanted: dict) -> None:
        """Read events until each of `wanted` (a subset of keys) has been seen."""
        def seen(want: dict) -> bool:
            return any(want.items() <= event.items() for event in self.events)

        async with asyncio.timeout(DEADLINE):
            while not all(seen(want) for want in wanted):
                await self.next_event()

    async def send(self, command: str) -> None:
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()

    async def finish(self) -> None:
        """End every peer (they withdraw their services) and read the rest of their events."""
        self.process.stdin.close()
        async with asyncio.timeout(DEADLINE):
            while (event := await self.next_event()).get("event") != "namespace_done":
                pass
        assert event["codes"] == {name: 0 for name in event["codes"]}, self.events
        assert await self.process.wait() == 0

    def by(self, peer: str, kind: str) -> list[dict]:
        return [event for event in self.events if event.get("peer") == peer and event["event"] == kind]


def peer(name: str, key: Identity, roles: str, advertised: Identity | None = None) -> dict:
    return {"name": name, "seed": key.seed.hex(), "did": (advertised or key).did, "roles": roles}


async def start_lan(peers: list[dict]) -> Lan:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(HARNESS), "namespace", json.dumps(peers),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, start_new_session=True)
    lan = Lan(process)
    first = await asyncio.wait_for(lan.next_event(), DEADLINE)
    if first["event"] == "unavailable":
        await process.wait()
        pytest.skip(f"no private network namespace for multicast: {first['reason']}")
    assert first["event"] == "namespace_ready", first
    return lan


@pytest.fixture
async def lan_of():
    started: list[Lan] = []

    async def start(peers: list[dict]) -> Lan:
        started.append(await start_lan(peers))
        return started[-1]

    yield start
    for lan in started:
        try:  # a failed test may have left the harness and its peers running
            os.killpg(lan.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await lan.process.wait()


async def test_peers_find_each_other_and_ignore_a_node_that_cannot_prove_its_did(lan_of):
    lan = await lan_of([
        peer("alice", ALICE, "node"),
        peer("bob", BOB, "node,hub"),
        peer("mallory", MALLORY, "node", advertised=VICTIM),  # claims a DID whose key it lacks
    ])
    await lan.wait_for(
        *({"peer": name, "event": "ready"} for name in ("alice", "bob", "mallory")),
        {"peer": "alice", "event": "found", "did": BOB.did},
        {"peer": "bob", "event": "found", "did": ALICE.did},
        {"peer": "alice", "event": "rejected", "did": VICTIM.did, "code": "challenge_failed"},
        {"peer": "bob", "event": "rejected", "did": VICTIM.did, "code": "challenge_failed"},
    )
    urls = {event["peer"]: event["url"] for event in lan.events if event.get("event") == "ready"}
    [alice_found_bob] = lan.by("alice", "found")
    assert alice_found_bob == {"peer": "alice", "event": "found", "did": BOB.did, "url": urls["bob"],
                               "roles": ["node", "hub"]}
    [bob_found_alice] = lan.by("bob", "found")
    assert bob_found_alice["url"] == urls["alice"] and bob_found_alice["roles"] == ["node"]
    assert lan.by("alice", "rejected")[0]["url"] == urls["mallory"]

    await lan.send("stop bob")  # bob withdraws his service on the way out
    await lan.wait_for({"peer": "bob", "event": "stopped"}, {"peer": "alice", "event": "lost", "did": BOB.did})
    await lan.finish()
    found = [(event["peer"], event["did"]) for event in lan.events if event.get("event") == "found"]
    assert ("alice", VICTIM.did) not in found and ("bob", VICTIM.did) not in found
    assert ("alice", ALICE.did) not in found and ("bob", BOB.did) not in found  # never themselves


@pytest.mark.parametrize("host", ["::1", "localhost"])
async def test_a_host_that_is_not_an_ipv4_address_is_refused_before_zeroconf_starts(host):
    with pytest.raises(DiscoveryFailed, match="IPv4") as raised:
        await Discovery(on_peer=print).start(ALICE.did, ["node"], 8080, host)
    assert raised.value.code == "discovery_failed"


def test_peer_addresses_must_lie_on_the_bound_interfaces_networks():
    [loopback] = interface_networks(["127.0.0.1"])
    assert str(loopback) == "127.0.0.0/8"
    # An address on no interface accepts only itself, never the LAN around it.
    assert [str(network) for network in interface_networks(["198.51.100.7"])] == ["198.51.100.7/32"]
    # Listening everywhere, loopback is still out of reach of a LAN announcement.
    assert not any(network.is_loopback for network in interface_networks(None))


def test_a_node_is_reached_only_at_an_address_on_those_networks():
    def announced(*addresses: str) -> AsyncServiceInfo:
        return AsyncServiceInfo(SERVICE_TYPE, f"x.{SERVICE_TYPE}", port=7400,
                                addresses=[socket.inet_aton(address) for address in addresses])

    networks = interface_networks(["127.0.0.1"])
    assert peer_url(announced("169.254.169.254", "127.0.0.9"), networks) == "http://127.0.0.9:7400"
    assert peer_url(announced("169.254.169.254", "198.51.100.7"), networks) is None
    assert peer_url(announced(), networks) is None
