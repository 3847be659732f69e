"""Verifying incoming objects off the event loop: threads, or worker processes.

Signature checks release the GIL, but parsing and body checks do not, so in
one process they contend with the event loop and the storage writer. A hub
with spare cores can verify in worker processes instead (`--verify-workers`);
a batch is split across them and the results come back in order.
"""

import asyncio
import concurrent.futures
import multiprocessing
from typing import Any

from protocol.envelope import SignedObject
from protocol.errors import ProtocolError
from storage.ingest import validate_batch

MIN_CHUNK = 16  # below this, shipping a chunk to a process costs more than it saves


class Verifier:
    def __init__(self, workers: int = 0):
        self.workers = workers
        self._pool = None
        if workers > 0:
            # forkserver: the node has threads (the storage writer), which a plain fork would copy mid-flight
            context = multiprocessing.get_context("forkserver")
            self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=context)

    async def validate(self, items: list[Any], now: int) -> list[SignedObject | ProtocolError]:
        loop = asyncio.get_running_loop()
        if self._pool is None or len(items) < MIN_CHUNK:
            return await loop.run_in_executor(None, validate_batch, items, now)
        size = max(MIN_CHUNK, -(-len(items) // self.workers))
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        parts = await asyncio.gather(*(loop.run_in_executor(self._pool, validate_batch, chunk, now) for chunk in chunks))
        return [result for part in parts for result in part]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
