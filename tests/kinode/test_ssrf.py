"""The SSRF guard: address table, URL checks, and a guarded aiohttp session on loopback."""

import ipaddress
import socket

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kinode.errors import BadUrl, ForbiddenAddress, KinodeError
from kinode.federation.ssrf import (
    AddressPolicy, GuardedResolver, address_kind, guarded_session, resolve_and_check,
)

LOOPBACK_OK = AddressPolicy(allow_loopback=True)
PRIVATE_OK = AddressPolicy(allow_private=True)
EVERYTHING_OK = AddressPolicy(allow_loopback=True, allow_private=True)

# address, kind, refused by default, allowed with loopback, allowed with private
TABLE = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),     # IPv4-mapped
    ("::127.0.0.1", "loopback"),          # IPv4-compatible
    ("2002:7f00:1::", "loopback"),        # 6to4 of 127.0.0.1
    ("64:ff9b::7f00:1", "loopback"),      # NAT64 of 127.0.0.1
    ("10.0.0.1", "private"),
    ("::ffff:10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("2002:c0a8:101::", "private"),       # 6to4 of 192.168.1.1
    ("fd00::1", "private"),
    ("fec0::1", "private"),
    ("100.64.0.1", "shared"),
    ("100.127.255.254", "shared"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("169.254.169.254", "link_local"),
    ("::ffff:169.254.169.254", "link_local"),
    ("fe80::1", "link_local"),
    ("fe80::1%1", "link_local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("255.255.255.255", "reserved"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "reserved"),
    ("198.18.0.1", "reserved"),
    ("2001:db8::1", "reserved"),
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "reserved"),  # Teredo (client 8.8.8.8): no longer routed
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo whose client is 127.0.0.1
    ("8.8.8.8", "global"),
    ("1.1.1.1", "global"),
    ("2606:4700:4700::1111", "global"),
    ("::ffff:8.8.8.8", "global"),
    ("2002:808:808::", "global"),         # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("address, kind", TABLE)
def test_address_table(address, kind):
    ip = ipaddress.ip_address(address)
    assert address_kind(ip) == kind
    assert AddressPolicy().permits(ip) == (kind == "global")
    assert LOOPBACK_OK.permits(ip) == (kind in ("global", "loopback"))
    assert PRIVATE_OK.permits(ip) == (kind in ("global", "private", "shared"))
    never = kind in ("unspecified", "link_local", "multicast", "reserved")
    assert EVERYTHING_OK.permits(ip) == (not never)


@pytest.mark.parametrize("url", [
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:10.0.0.1]:8080/x", "http://0.0.0.0/", "http://[::]/",
    "http://169.254.169.254/latest/meta-data/", "https://[fd00::1]/", "http://100.64.0.1/",
    "http://[2002:7f00:1::]/", "http://127.0.0.1:9/", "http://localhost/",
])
async def test_resolve_and_check_refuses_by_default(url):
    with pytest.raises(ForbiddenAddress) as caught:
        await resolve_and_check(url, AddressPolicy())
    assert caught.value.code == "forbidden_address" and caught.value.status == 403
    assert isinstance(caught.value, KinodeError)


async def test_resolve_and_check_returns_the_checked_addresses():
    assert await resolve_and_check("http://127.0.0.1:8080/ki/v1/inbox", LOOPBACK_OK) == ["127.0.0.1"]
    assert await resolve_and_check("https://[::1]/", LOOPBACK_OK) == ["::1"]
    assert await resolve_and_check("http://93.184.215.14/", AddressPolicy()) == ["93.184.215.14"]
    resolved = await resolve_and_check("http://localhost:8080/", LOOPBACK_OK)
    assert resolved and all(ipaddress.ip_address(a).is_loopback for a in resolved)


@pytest.mark.parametrize("url", [
    "ftp://93.184.215.14/", "file:///etc/passwd", "gopher://93.184.215.14/", "//93.184.215.14/",
    "http://user:pw@93.184.215.14/", "http://user@93.184.215.14/", "http:///nohost",
    "http://93.184.215.14:99999/", "http://127.1/", "http://2130706433/", "http://0177.0.0.1/",
    "not a url",
])
async def test_bad_urls(url):
    with pytest.raises(BadUrl) as caught:
        await resolve_and_check(url, EVERYTHING_OK)
    assert caught.value.code == "bad_url"


async def redirecting_servers(second_host: str = "127.0.0.1"):
    """Server A (127.0.0.1) redirects /go to server B's /target on `second_host`."""
    async def reached(request):
        return web.Response(text="reached B")

    target = web.Application()
    target.router.add_get("/target", reached)
    b = TestServer(target, host=second_host)
    await b.start_server()

    async def go(request):
        raise web.HTTPFound(f"http://{second_host}:{b.port}/target")

    source = web.Application()
    source.router.add_get("/go", go)
    a = TestServer(source, host="127.0.0.1")
    await a.start_server()
    return a, b


@pytest.fixture
async def servers():
    a, b = await redirecting_servers()
    yield a, b
    await a.close()
    await b.close()


async def test_guarded_session_refuses_loopback_by_default(servers):
    a, _ = servers
    async with guarded_session() as session:
        with pytest.raises(ForbiddenAddress):
            await session.get(f"http://127.0.0.1:{a.port}/go")


async def test_guarded_session_follows_a_loopback_redirect_when_loopback_is_allowed(servers):
    a, _ = servers
    async with guarded_session(LOOPBACK_OK) as session:
        async with session.get(f"http://127.0.0.1:{a.port}/go") as response:
            assert response.status == 200 and await response.text() == "reached B"
            assert len(response.history) == 1


class OnlyFirstServer(AddressPolicy):
    """Admits 127.0.0.1 but not the rest of 127/8: a stand-in for "public A redirects to private B"."""

    def permits(self, ip):
        return ip == ipaddress.ip_address("127.0.0.1")


async def test_a_redirect_is_checked_again():
    a, b = await redirecting_servers(second_host="127.0.0.2")
    try:
        async with aiohttp.ClientSession() as unguarded:  # B is really there
            async with unguarded.get(f"http://127.0.0.1:{a.port}/go") as response:
                assert await response.text() == "reached B"
        async with guarded_session(OnlyFirstServer()) as session:
            with pytest.raises(ForbiddenAddress, match="127.0.0.2"):
                await session.get(f"http://127.0.0.1:{a.port}/go")
    finally:
        await a.close()
        await b.close()


async def test_names_are_checked_by_the_resolver(servers):
    a, _ = servers
    async with guarded_session() as session:
        with pytest.raises(ForbiddenAddress, match="localhost"):
            await session.get(f"http://localhost:{a.port}/go")
    async with guarded_session(LOOPBACK_OK) as session:
        async with session.get(f"http://localhost:{a.port}/go") as response:
            assert await response.text() == "reached B"


class RebindingResolver(aiohttp.abc.AbstractResolver):
    """Answers a public address first, loopback afterwards: a DNS-rebinding attacker."""

    def __init__(self):
        self.answers = ["93.184.215.14", "127.0.0.1"]

    async def resolve(self, host, port=0, family=socket.AF_INET):
        address = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self):
        pass


async def test_the_guarded_resolver_checks_every_answer_it_passes_on():
    resolver = GuardedResolver(AddressPolicy(), inner=RebindingResolver())
    first = await resolver.resolve("rebind.example", 80)
    assert [r["host"] for r in first] == ["93.184.215.14"]
    with pytest.raises(ForbiddenAddress, match="rebind.example"):
        await resolver.resolve("rebind.example", 80)
    await resolver.close()
