"""Wake-ups for whoever follows the store: SSE subscribers and the gossip worker."""

import asyncio


class Watcher:
    def __init__(self, changes: "Changes"):
        self._changes = changes
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        """True when something changed since the last wait, False after `timeout` seconds."""
        # Not asyncio.wait_for: on Python 3.11 it drops a cancellation that
        # arrives as the event is set, and the task (gossip at shutdown) runs on.
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True

    def close(self) -> None:
        self._changes._watchers.discard(self)


class Changes:
    def __init__(self) -> None:
        self._watchers: set[Watcher] = set()

    def watch(self) -> Watcher:
        watcher = Watcher(self)
        self._watchers.add(watcher)
        return watcher

    def notify(self) -> None:
        for watcher in self._watchers:
            watcher._event.set()
