"""Asking this node's hubs for objects it lacks: the context of what its owner acts on, and profiles.

The hubs are operator-given (`--hub`, remembered in `peers`), so they are
fetched without the SSRF guard. Everything fetched is verified when stored;
nothing is trusted because a hub served it.
"""

import asyncio
import json

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=10)


class HubFetcher:
    def __init__(self, hubs: list[str]):
        self.hubs = list(dict.fromkeys(h.rstrip("/") for h in hubs))

    async def objects(self, ids: list[str]) -> list[dict]:
        """Each id from the first hub that serves it (ids no hub has are left out)."""
        async with aiohttp.ClientSession(trust_env=False, timeout=TIMEOUT) as session:
            found = await asyncio.gather(*(self._first(session, object_id) for object_id in ids))
        return [f for f in found if f is not None]

    async def profiles(self, dids: list[str]) -> list[dict]:
        async with aiohttp.ClientSession(trust_env=False, timeout=TIMEOUT) as session:
            pages = await asyncio.gather(*(self._get(session, f"{hub}/ki/v1/objects",
                                                     {"type": "profile", "author": did, "limit": "100"})
                                           for hub in self.hubs for did in dids))
        return [o for page in pages if isinstance(page, dict) for o in page.get("objects", []) if isinstance(o, dict)]

    async def contracts_of(self, did: str) -> list[str]:
        """Ids of the contracts naming `did` that any hub holds (GET /ki/v1/contracts?party=)."""
        async with aiohttp.ClientSession(trust_env=False, timeout=TIMEOUT) as session:
            pages = await asyncio.gather(*(self._get(session, f"{hub}/ki/v1/contracts", {"party": did})
                                           for hub in self.hubs))
        ids = [i for page in pages if isinstance(page, dict) for i in page.get("contracts", []) if isinstance(i, str)]
        return list(dict.fromkeys(ids))

    async def contract_objects(self, contract_ids: list[str]) -> list[str]:
        """The ids of the objects each hub's view of these contracts counts (its timeline and reviews)."""
        async with aiohttp.ClientSession(trust_env=False, timeout=TIMEOUT) as session:
            views = await asyncio.gather(*(self._get(session, f"{hub}/ki/v1/contracts/{c}")
                                           for hub in self.hubs for c in contract_ids))
        ids: list[str] = []
        for view in views:
            if isinstance(view, dict):
                ids += [e.get("id") for e in view.get("timeline", []) if isinstance(e, dict)]
                ids += [r.get("id") for r in view.get("reviews", []) if isinstance(r, dict)]
        return [i for i in dict.fromkeys(ids) if isinstance(i, str) and len(i) == 64]

    async def _first(self, session: aiohttp.ClientSession, object_id: str) -> dict | None:
        for hub in self.hubs:
            got = await self._get(session, f"{hub}/ki/v1/objects/{object_id}")
            if isinstance(got, dict) and got.get("id") == object_id:
                return got
        return None

    async def _get(self, session: aiohttp.ClientSession, url: str, params: dict | None = None):
        try:
            async with session.get(url, params=params) as response:
                return json.loads(await response.read()) if response.status == 200 else None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError):
            return None
