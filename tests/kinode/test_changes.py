"""Watchers wake on change, time out quietly, and never swallow a cancellation."""

import asyncio

import pytest

from kinode.changes import Changes


async def test_a_notify_wakes_every_watcher_once() -> None:
    changes = Changes()
    first, second = changes.watch(), changes.watch()
    changes.notify()
    assert await first.wait(1) and await second.wait(1)
    assert not await first.wait(0.01)


async def test_a_closed_watcher_is_not_notified() -> None:
    changes = Changes()
    watcher = changes.watch()
    watcher.close()
    changes.notify()
    assert not await watcher.wait(0.01)


async def test_cancelling_a_waiter_whose_event_fires_at_the_same_time_cancels_it() -> None:
    changes = Changes()
    watcher = changes.watch()
    task = asyncio.create_task(watcher.wait(10))
    await asyncio.sleep(0)  # the task is now waiting on the event
    changes.notify()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
