"""A background loop that crashes says so at once, and stopping the rest still works."""

import asyncio
import logging

from kinode.federation import tasks


async def test_a_crash_is_logged_when_it_happens_and_stop_still_returns(caplog):
    async def broken():
        raise TypeError("half the SQL as parameters")

    async def forever():
        await asyncio.Event().wait()

    with caplog.at_level(logging.ERROR, logger="kinode"):
        started = [tasks.start(broken(), "picker"), tasks.start(forever(), "gossip")]
        await asyncio.sleep(0.01)
        assert any("picker" in r.getMessage() and "half the SQL" in r.getMessage() for r in caplog.records)
        await tasks.stop(started)
    assert all(t.done() for t in started) and started[1].cancelled()
