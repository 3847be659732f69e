"""Operator-given URLs use the plain session; learned ones go through the SSRF guard."""

from pathlib import Path

import pytest
from aiohttp import web

from kinode.config import NodeConfig
from kinode.errors import ForbiddenAddress
from kinode.federation.sessions import learned_policy, open_sessions


def test_the_learned_policy_allows_the_lan_and_loopback_only_for_a_loopback_node() -> None:
    local = learned_policy(NodeConfig(data_dir=Path("."), host="127.0.0.1"))
    lan = learned_policy(NodeConfig(data_dir=Path("."), host="192.0.2.10"))
    assert local.allow_loopback and local.allow_private
    assert not lan.allow_loopback and lan.allow_private


async def test_a_learned_url_on_loopback_is_refused_for_a_lan_node(aiohttp_server) -> None:
    async def describe(request: web.Request) -> web.Response:
        return web.json_response({"did": "x"})

    app = web.Application()
    app.router.add_get("/.well-known/kinode", describe)
    server = await aiohttp_server(app, host="127.0.0.1")
    configured_url = str(server.make_url("")).rstrip("/")
    config = NodeConfig(data_dir=Path("."), host="192.0.2.10", hubs=(configured_url,))
    async with open_sessions(config) as sessions:
        async with sessions.for_url(configured_url).get(configured_url + "/.well-known/kinode") as response:
            assert response.status == 200  # the operator named it: trusted even on loopback
        learned_url = configured_url.replace("127.0.0.1", "127.0.0.2")
        assert sessions.for_url(learned_url) is sessions.learned
        with pytest.raises(ForbiddenAddress):
            async with sessions.for_url(learned_url).get(learned_url + "/.well-known/kinode"):
                pass
