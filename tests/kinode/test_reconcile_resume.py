"""A reconciliation cut off by its round cap keeps what it found, and the next one goes on from there.

Two hubs are real apps on 127.0.0.1; the first exchange's round cap is lowered to 2 so eight thousand objects behave
like the hundreds of thousands a new hub meets when it joins (spec 10: each exchange stands alone)."""

import time

import pytest

from kinode.config import NodeConfig
from kinode.federation import reconcile
from kinode.federation.app import create_app
from kinode.federation.sessions import open_sessions
from kinode.node import Node, Remote
from protocol.envelope import sign
from protocol.identity import Identity
from storage import listing
from storage.objects import store_verified
from storage.store import Store

CATEGORY = "web-design"
OLD, NEW = Identity(bytes([61]) * 32), Identity(bytes([62]) * 32)
TOTAL = 8000
AUTHORS = [Identity(bytes([70 + n]) * 32) for n in range(5)]


def offers(count: int, now: int) -> list:
    return [sign(AUTHORS[n % len(AUTHORS)], "offer",
                 {"category": CATEGORY, "title": f"Logo {n}", "description": "A logo.",
                  "price": {"amount": "100.00", "currency": "EUR"}, "unit": "fixed"}, now - count - 60 + n)
            for n in range(count)]


def held(node: Node) -> int:
    return node.store.read_sync(listing.count, include_hidden=False)


@pytest.fixture
async def hubs(tmp_path, aiohttp_server):
    stores = [Store(), Store()]
    config = dict(roles=("node", "hub"), categories=(CATEGORY,))
    old = Node(NodeConfig(data_dir=tmp_path / "old", **config), OLD, stores[0])
    new = Node(NodeConfig(data_dir=tmp_path / "new", **config), NEW, stores[1])
    old_url = str((await aiohttp_server(create_app(old))).make_url("")).rstrip("/")
    new_url = str((await aiohttp_server(create_app(new))).make_url("")).rstrip("/")
    old.remotes[new_url] = Remote(new_url, NEW.did, (CATEGORY,), ("node", "hub"))
    new.remotes[old_url] = Remote(old_url, OLD.did, (CATEGORY,), ("node", "hub"))
    async with open_sessions(new.config) as sessions:
        yield old, new, old_url, sessions
    for store in stores:
        store.close()


async def test_a_capped_reconciliation_keeps_its_finds_and_the_next_goes_on(hubs, monkeypatch, caplog):
    caplog.set_level("INFO", logger="kinode.federation.reconcile")
    old, new, old_url, sessions = hubs
    now = int(time.time())
    everything = offers(TOTAL, now)
    old.store.write_sync(store_verified, everything, now)
    new.store.write_sync(store_verified, everything[::7], now)  # it holds some already: both sides differ
    session = sessions.for_url(old_url)
    cap = reconcile.MAX_ROUNDS
    monkeypatch.setattr(reconcile, "MAX_ROUNDS", 2)  # what a far larger gap does to the real cap
    _, first = await reconcile.reconcile_with(new, session, old_url, (CATEGORY,))
    assert "paused after 2 rounds" in caplog.text  # it was cut off (it used to raise and keep nothing)
    assert 0 < first < TOTAL - len(everything[::7])  # what it found is home; not everything was found
    monkeypatch.setattr(reconcile, "MAX_ROUNDS", cap)
    _, rest = await reconcile.reconcile_with(new, session, old_url, (CATEGORY,))
    assert held(new) == TOTAL and first + rest == TOTAL - len(everything[::7])
    assert await reconcile.reconcile_with(new, session, old_url, (CATEGORY,)) == (0, 0)
