"""Running a node process: bind, serve, print the URL, stop cleanly on a signal."""

import asyncio
import dataclasses
import json
import logging
import signal
import socket
import sys

from aiohttp import web

from kinode.federation.app import create_app
from kinode.federation import memory
from kinode.federation.appkeys import GUARD
from kinode.federation.quietlog import QuietLog
from kinode.federation.server import GuardedSite
from kinode.config import NodeConfig
from kinode.errors import PortInUse
from kinode.node import Node
from kinode.verifier import Verifier, default_workers
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


UI_HOST = "127.0.0.1"  # the web UI never listens beyond loopback, whatever --host says


async def serve(config: NodeConfig, identity: Identity, ui_port: int | None = None, as_json: bool = False) -> None:
    """Run until SIGINT or SIGTERM; then finish in-flight work and close the store.

    With `ui_port` (0: any free port) the web UI runs on its own loopback port and
    its login URL is printed on the line after the listening line. `as_json`: one
    JSON line instead ({"role", "did", "categories", "url", "ui"}), for scripts.
    """
    memory.limit_arenas()
    sock = bind(config.host, config.port)
    ui_sock = bind(UI_HOST, ui_port) if ui_port is not None else None
    config = dataclasses.replace(config, port=sock.getsockname()[1])
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(config.db_path)
    workers = config.verify_workers
    verifier = Verifier(default_workers(config.is_hub) if workers is None else workers)
    node = Node(config, identity, store, verifier=verifier)
    app = create_app(node)
    # keepalive_timeout bounds both an idle keep-alive connection and the time to
    # send a request line and headers: aiohttp closes a connection still waiting
    # for a complete message when it expires (spec 9.15).
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5,
                           keepalive_timeout=config.idle_timeout)
    ui_runner, ui_line, ui_url = None, "", None
    if ui_sock is not None:
        from kinode.federation.front_page import UI_ORIGIN
        app[UI_ORIGIN] = f"http://{UI_HOST}:{ui_sock.getsockname()[1]}"  # for GET / (never the token)
        from web_ui.app import create_app as create_ui
        from web_ui.security import Guard
        guard = Guard(f"{UI_HOST}:{ui_sock.getsockname()[1]}")
        ui_runner = web.AppRunner(create_ui(node, guard), access_log=None, handle_signals=False, shutdown_timeout=2)
        ui_line, ui_url = f"\nweb UI: open {guard.login_url}", guard.login_url
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
        if ui_runner is not None:
            await ui_runner.setup()
            await web.SockSite(ui_runner, ui_sock).start()
        role = "hub" if config.is_hub else "node"
        categories = f" for {', '.join(config.categories)}" if config.categories else ""
        # One write for both lines: a reader may close the pipe after the first.
        if as_json:
            _announce(json.dumps({"role": role, "did": identity.did, "categories": list(config.categories),
                                  "url": config.url, "ui": ui_url}) + "\n")
        else:
            _announce(f"kinode {role} {identity.did}{categories} listening on {config.url}{ui_line}\n")
        log.info("ready: %s %s on %s", role, identity.did, config.url)
        await stop.wait()
        log.info("stopping")
    finally:
        if ui_runner is not None:
            await ui_runner.cleanup()
        await runner.cleanup()
        verifier.close()
        store.close()
        writer = store.writer_counts()
        log.info("stopped; database closed (%d deliveries stored in %d writer jobs, %d commits)",
                 node.writes.deliveries, node.writes.jobs, writer["commits"])


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


def _announce(text: str) -> None:
    """Print the ready lines in one write: print() writes the end of line separately (unbuffered
    under PYTHONUNBUFFERED), so a reader that closes the pipe after one line would make that
    second write fail. A closed stdout never stops the node."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        pass
