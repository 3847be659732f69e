"""The node's background tasks: started together, stopped together, and a crash said at once.

A background loop that dies (a bug, not a cancellation) would otherwise stay
silent until shutdown, when awaiting it re-raises: the node would run on
without, say, its hub picker and nobody would know. So each task logs its
own failure the moment it happens, and `stop` only cancels and waits.
"""

import asyncio
import contextlib
import logging
from typing import Coroutine

log = logging.getLogger("kinode")


def start(coro: Coroutine, name: str) -> asyncio.Task:
    task = asyncio.create_task(coro, name=name)
    task.add_done_callback(_report)
    return task


async def stop(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):  # a crash was logged when it happened
            await task


def _report(task: asyncio.Task) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("background task %s stopped: %r", task.get_name(), error, exc_info=error)
