"""Running a node process: bind, serve, print the URL, stop cleanly on a signal."""

import asyncio
import dataclasses
import logging
import signal
import socket

from aiohttp import web

from kinode.federation.app import create_app
from kinode.federation import memory
from kinode.federation.appkeys import GUARD
from kinode.federation.quietlog import QuietLog
from kinode.federation.server import GuardedSite
from kinode.config import NodeConfig
from kinode.errors import PortInUse
from kinode.node import Node
from kinode.verifier import Verifier
from protocol.identity import Identity
from storage.store import Store

log = logging.getLogger("kinode")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, so port 0 picks a free port we can print."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise PortInUse(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(512)
    sock.setblocking(False)
    return sock


async def serve(config: NodeConfig, identity: Identity) -> None:
    """Run until SIGINT or SIGTERM; then finish in-flight work and close the store."""
    memory.limit_arenas()
    sock = bind(config.host, config.port)
    config = dataclasses.replace(config, port=sock.getsockname()[1])
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(config.db_path)
    verifier = Verifier(config.verify_workers)
    node = Node(config, identity, store, verifier=verifier)
    app = create_app(node)
    # keepalive_timeout bounds both an idle keep-alive connection and the time to
    # send a request line and headers: aiohttp closes a connection still waiting
    # for a complete message when it expires (spec 9.15).
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5,
                           keepalive_timeout=config.idle_timeout)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_exceptions(loop))
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await runner.setup()
        await GuardedSite(runner, sock, app[GUARD]).start()
        log.info("at most %d connections, %d per client address", app[GUARD].max_total,
                 app[GUARD].max_per_address)
        role = "hub" if config.is_hub else "node"
        categories = f" for {', '.join(config.categories)}" if config.categories else ""
        print(f"kinode {role} {identity.did}{categories} listening on {config.url}", flush=True)
        log.info("ready: %s %s on %s", role, identity.did, config.url)
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()
        verifier.close()
        store.close()
        log.info("stopped; database closed")


def _quiet_exceptions(loop: asyncio.AbstractEventLoop):
    """Out of descriptors, asyncio logs a traceback per failed accept; one line per interval will do."""
    quiet = QuietLog(log)

    def handle(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        error = context.get("exception")
        if isinstance(error, OSError) and "accept" in context.get("message", ""):
            quiet.warning("accept", "cannot accept connections: %s", error.strerror or error)
        else:
            loop.default_exception_handler(context)

    return handle
