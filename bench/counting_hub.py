"""`kinode` with a tally of every object its Node.receive handled (for propagation_bench).

    KINODE_BENCH_TALLY=/path/tally.json python bench/counting_hub.py hub --data-dir ...

Every payload copy a hub gets, by inbox push or by a reconciliation fetch,
goes through `Node.receive`; the tally (received, accepted, duplicate,
rejected) is written as JSON when the process exits cleanly (SIGTERM). The
node's code is untouched: the benchmark wraps the method in its own process.
"""

import atexit
import collections
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kinode import node as node_module  # noqa: E402
from kinode.cli.entry import main  # noqa: E402

tally: collections.Counter = collections.Counter()
_receive = node_module.Node.receive


async def counted_receive(self, items, *args, **kwargs):
    results = await _receive(self, items, *args, **kwargs)
    tally["received"] += len(results)
    tally["calls"] += 1
    for result in results:
        tally[result.status] += 1
    return results


node_module.Node.receive = counted_receive
atexit.register(lambda: Path(os.environ["KINODE_BENCH_TALLY"]).write_text(json.dumps(tally)))

if __name__ == "__main__":
    sys.exit(main())
