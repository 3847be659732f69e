"""A node's settings, as the CLI or a test gives them."""

from dataclasses import dataclass, field
from pathlib import Path

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_BATCH = 500
MIB = 1024 * 1024


@dataclass(frozen=True)
class NodeConfig:
    """Everything a running node is told. `roles` is ("node",) or ("node", "hub").

    `hubs` are the hub URLs a participant publishes to; `peers` the hub URLs a
    hub federates with. Both come from the operator, so they are trusted even
    on loopback; URLs learned from objects go through the SSRF guard.
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 7400
    roles: tuple[str, ...] = ("node",)
    categories: tuple[str, ...] = ()
    hubs: tuple[str, ...] = ()
    peers: tuple[str, ...] = ()
    discover: bool = False
    public_url: str | None = None
    reconcile_interval: float = 30.0
    verify_workers: int | None = None  # None: kinode.verifier.default_workers
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch: int = MAX_BATCH
    client_rate: float = 200.0
    client_burst: float = 2000.0
    author_rate: float = 100.0
    author_burst: float = 5000.0
    # Verification work per client address, in objects: a failed verification costs
    # `failed_verification_cost`, so forged floods run dry first (spec section 9.3).
    work_rate: float = 2000.0
    work_burst: float = 10000.0
    failed_verification_cost: float = 10.0
    # Sync messages a second (and at once) from a key that is neither a peer nor an announced hub.
    stranger_sync_rate: float = 1.0
    stranger_sync_burst: float = 32.0
    # Connections and buffered bodies (README "Resource bounds").
    idle_timeout: float = 10.0  # request line and headers, and idle keep-alive
    body_timeout: float = 30.0  # a whole request body
    max_connections: int = 1024
    max_connections_per_address: int = 64
    body_budget_bytes: int = 64 * MIB  # request bodies buffered at once, across all requests
    body_budget_wait: float = 2.0  # how long a body may wait for budget before a 503
    max_streams_per_address: int = 8
    stream_buffer_bytes: int = 4 * MIB  # a subscriber that leaves more unread is dropped
    extra: dict = field(default_factory=dict)

    @property
    def is_hub(self) -> bool:
        return "hub" in self.roles

    @property
    def url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "kinode.db"
