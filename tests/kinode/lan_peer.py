"""Discovering kinode peers inside a private network namespace, for test_discovery.

    lan_peer.py namespace PEERS_JSON
        Move into a fresh network namespace whose only interface is its own
        loopback, switch multicast on there, start one `peer` process per entry
        of PEERS_JSON ([{"name", "seed", "did", "roles"}]) and relay their
        events to stdout as JSON lines tagged with "peer". Reads commands on
        stdin: "stop NAME" ends one peer; end of input ends them all.
        Exits 77 after printing {"event": "unavailable", "reason"} when the
        namespace cannot be made (not Linux, no CAP_SYS_ADMIN): callers skip then.

    lan_peer.py peer NAME SEED_HEX ADVERTISED_DID ROLES
        A minimal node: /.well-known/kinode and /ki/v1/challenge on
        127.0.0.1 answering with SEED's key, and kinode.federation.discovery advertising
        ADVERTISED_DID (a liar advertises a DID whose key it lacks).

Multicast never reaches a real interface: the namespace is entered before any
socket exists, and the harness refuses to go on if it sees any interface
besides `lo`. The namespace dies with its last process.
"""

import asyncio
import ctypes
import fcntl
import json
import os
import signal
import socket
import struct
import sys

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS = 0x8913, 0x8914
IFF_UP, IFF_MULTICAST = 0x1, 0x1000
UNAVAILABLE = 77


def emit(**event: object) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def enter_private_network() -> str | None:
    """Move into a new network namespace; None, or why that is impossible here."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())} (needs root or CAP_SYS_ADMIN)"
    return None


def loopback_multicast_on() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = struct.unpack("16sh", fcntl.ioctl(sock, SIOCGIFFLAGS, struct.pack("16sh", b"lo", 0)))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP | IFF_MULTICAST))


async def run_namespace(peers: list[dict]) -> int:
    why_not = enter_private_network()
    if why_not is not None:
        emit(event="unavailable", reason=why_not)
        return UNAVAILABLE
    interfaces = [name for _, name in socket.if_nameindex()]
    if interfaces != ["lo"]:
        emit(event="error", reason=f"namespace has interfaces {interfaces}, refusing to multicast")
        return 1
    loopback_multicast_on()
    processes = {}
    for spec in peers:
        processes[spec["name"]] = await asyncio.create_subprocess_exec(
            sys.executable, "-W", "error", __file__, "peer", spec["name"], spec["seed"], spec["did"],
            spec["roles"], stdout=asyncio.subprocess.PIPE)
    relays = [asyncio.create_task(relay(name, process)) for name, process in processes.items()]
    emit(event="namespace_ready")
    commands = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    stopping = set()  # a second SIGTERM would find the peer's handler gone and kill it mid-shutdown
    while line := await commands.readline():
        verb, _, name = line.decode().strip().partition(" ")
        if verb == "stop" and name in processes and name not in stopping:
            stopping.add(name)
            processes[name].send_signal(signal.SIGTERM)
    for name, process in processes.items():
        if name not in stopping:
            process.send_signal(signal.SIGTERM)
    await asyncio.gather(*relays)
    codes = {name: await process.wait() for name, process in processes.items()}
    emit(event="namespace_done", codes=codes)
    return 0


async def relay(name: str, process: asyncio.subprocess.Process) -> None:
    while line := await process.stdout.readline():
        emit(peer=name, **json.loads(line))


async def run_peer(name: str, seed: str, advertised_did: str, roles: str) -> int:
    from aiohttp import web

    from kinode.federation.challenge import challenge_handler
    from kinode.federation.discovery import Discovery
    from protocol.identity import Identity

    identity = Identity(bytes.fromhex(seed))

    async def describe(request: web.Request) -> web.Response:
        return web.json_response({"did": advertised_did, "roles": roles.split(",")})

    app = web.Application()
    app.router.add_get("/.well-known/kinode", describe)
    app.router.add_post("/ki/v1/challenge", challenge_handler(identity))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    discovery = Discovery(
        on_peer=lambda peer: emit(event="found", did=peer.did, url=peer.url, roles=list(peer.roles)),
        on_rejected=lambda did, url, error: emit(event="rejected", did=did, url=url, code=error.code),
        on_lost=lambda peer: emit(event="lost", did=peer.did, url=peer.url),
    )
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await discovery.start(advertised_did, roles.split(","), port, "127.0.0.1")
    emit(event="ready", did=advertised_did, url=f"http://127.0.0.1:{port}")
    await stopping.wait()
    await discovery.stop()
    await runner.cleanup()
    emit(event="stopped")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "namespace":
        sys.exit(asyncio.run(run_namespace(json.loads(sys.argv[2]))))
    sys.exit(asyncio.run(run_peer(*sys.argv[2:6])))
