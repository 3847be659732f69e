"""Deliveries that arrive while the writer is busy share a job; each still gets its own answers."""

import asyncio

import pytest

from kinode.write_groups import WriteGroups
from storage.ingest import IngestResult


class Writer:
    """A stand-in for the store: records each job, answers when released."""

    def __init__(self, fail_when=lambda items: False):
        self.jobs: list[tuple] = []
        self.release = asyncio.Event()
        self.fail_when = fail_when

    async def run(self, key, items, routes):
        self.jobs.append((key, list(items), dict(routes)))
        await self.release.wait()
        if self.fail_when(items):
            raise RuntimeError("this job fails")
        return [IngestResult(item, "accepted") for item in items]


async def _deliver_while_busy(groups: WriteGroups, writer: Writer, deliveries: list[tuple]) -> list:
    first = asyncio.ensure_future(groups.store((1, None), ["first"], {}))
    await asyncio.sleep(0)  # the first job is now with the writer: in_flight is 1
    rest = [asyncio.ensure_future(groups.store(key, items, routes)) for key, items, routes in deliveries]
    await asyncio.sleep(0)
    writer.release.set()
    return [await first] + [await r for r in rest]


async def test_deliveries_waiting_for_the_writer_go_as_one_job_per_key() -> None:
    writer = Writer()
    groups = WriteGroups(writer.run, in_flight=1)
    answers = await _deliver_while_busy(groups, writer, [
        ((1, None), ["a", "b"], {"a": ["hub"]}), ((1, "did:peer"), ["c"], {}), ((1, None), ["d"], {"d": ["x"]})])
    assert [[r.id for r in a] for a in answers] == [["first"], ["a", "b"], ["c"], ["d"]]
    assert writer.jobs == [((1, None), ["first"], {}),
                           ((1, None), ["a", "b", "d"], {"a": ["hub"], "d": ["x"]}),  # merged: same key
                           ((1, "did:peer"), ["c"], {})]
    assert (groups.jobs, groups.deliveries) == (3, 4)


async def test_a_failing_merged_job_is_retried_per_delivery() -> None:
    writer = Writer(fail_when=lambda items: "bad" in items)
    groups = WriteGroups(writer.run, in_flight=1)
    first = asyncio.ensure_future(groups.store((1, None), ["first"], {}))
    await asyncio.sleep(0)
    good = asyncio.ensure_future(groups.store((1, None), ["good"], {}))
    bad = asyncio.ensure_future(groups.store((1, None), ["bad"], {}))
    await asyncio.sleep(0)
    writer.release.set()
    assert [r.id for r in await first] == ["first"]
    assert [r.id for r in await good] == ["good"]  # stored on its own after the merged job failed
    with pytest.raises(RuntimeError):
        await bad
    assert [job[1] for job in writer.jobs] == [["first"], ["good", "bad"], ["good"], ["bad"]]


async def test_an_idle_writer_gets_a_delivery_at_once() -> None:
    writer = Writer()
    writer.release.set()
    groups = WriteGroups(writer.run, in_flight=2)
    answers = await asyncio.gather(*(groups.store((1, None), [n], {}) for n in range(3)))
    assert [[r.id for r in a] for a in answers] == [[0], [1], [2]]
    assert [job[1] for job in writer.jobs] == [[0], [1], [2]]  # two went straight; the third waited alone


async def test_a_hub_stores_concurrent_single_deliveries_in_fewer_jobs(store, tmp_path) -> None:
    from kinode.config import NodeConfig
    from kinode.node import Node
    from protocol.envelope import sign
    from protocol.identity import Identity
    from storage import listing

    now = 1767225600
    hub = Node(NodeConfig(data_dir=tmp_path, roles=("node", "hub"), categories=("web-design",)),
               Identity(bytes([5]) * 32), store, clock=lambda: now)
    authors = [Identity(bytes([10 + n]) * 32) for n in range(20)]
    offers = [sign(a, "offer", {"category": "web-design", "title": f"Sites {n}", "description": "Small sites.",
                                "price": {"amount": "50.00", "currency": "EUR"}, "unit": "hour"}, now)
              for n, a in enumerate(authors)]
    deliveries = [[o.wire] for o in offers] + [[offers[0].wire]]  # the first offer twice
    answers = await asyncio.gather(*(hub.receive(d) for d in deliveries))
    statuses = [a[0].status for a in answers]
    assert statuses.count("accepted") == 20 and statuses.count("duplicate") == 1
    assert hub.writes.deliveries == 21 and hub.writes.jobs < 21  # merged while the writer was busy
    assert store.read_sync(listing.count) == 20
