"""What a hub announces about itself (spec section 14.1): its `hub` object and its `category` objects.

On start, and whenever hub.toml changes, the hub compares what it would
announce with what it holds under its own key and publishes only what
differs, through `Node.publish`, so the objects gossip like any other.
"""

import logging
from pathlib import Path
from typing import Any

from kinode.hub.config import HubConfig, load
from protocol.envelope import SignedObject
from storage import hub_objects
from storage.derived import signed_from_wire

log = logging.getLogger("kinode.hub")


def current_categories(db, did: str) -> dict[str, SignedObject]:
    """slug -> the latest visible `category` object by `did` (ties: lowest id)."""
    rows = db.execute("SELECT wire FROM objects WHERE type = 'category' AND author = ? AND hidden_by IS NULL "
                      "ORDER BY created_at, id DESC", [did]).fetchall()
    latest: dict[str, SignedObject] = {}
    for (wire,) in rows:
        obj = signed_from_wire(wire)
        latest[obj.body.get("slug")] = obj
    return latest


def _held(db, did: str) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    announcement = hub_objects.announcement_of(db, did)
    return (announcement.body if announcement else None,
            {slug: obj.body for slug, obj in current_categories(db, did).items()})


def changes(config: HubConfig, url: str, held_announcement: dict | None,
            held_categories: dict[str, dict]) -> list[tuple[str, dict[str, Any]]]:
    """The (type, body) objects to publish so that what is held equals what `config` says."""
    wanted = [("category", c.body()) for c in config.categories if held_categories.get(c.slug) != c.body()]
    announcement = config.announcement(url)
    if held_announcement != announcement:
        wanted.append(("hub", announcement))  # after its categories: a reader finds them when it arrives
    return wanted


async def announce(node, config: HubConfig) -> list[SignedObject]:
    """Publish what differs from `config`; return the objects published."""
    held_announcement, held_categories = await node.store.read(_held, node.did)
    published = []
    for type_, body in changes(config, node.config.url, held_announcement, held_categories):
        obj, result = await node.publish(type_, body)
        log.info("announced %s %s (%s)", type_, obj.id, result.status)
        published.append(obj)
    return published


class ConfigWatcher:
    """Re-reads hub.toml when its modification time changes; keeps the last good config on a bad edit."""

    def __init__(self, config: HubConfig, flags: tuple[list[str], list[str]] = ([], [])):
        self.config, self.flags = config, flags
        self._stamp = self._mtime()

    def _mtime(self) -> float | None:
        path: Path | None = self.config.path
        try:
            return path.stat().st_mtime_ns if path is not None else None
        except OSError:
            return None

    def poll(self) -> HubConfig | None:
        """The new config if the file changed (and is valid), else None."""
        stamp = self._mtime()
        if stamp == self._stamp or self.config.path is None:
            return None
        self._stamp = stamp
        try:
            fresh = load(self.config.path, required=False).with_flags(*self.flags)
        except Exception as error:  # a half-saved or broken file: say so, keep announcing the last good one
            log.warning("hub config %s not reloaded: %s", self.config.path, getattr(error, "detail", error))
            return None
        if not fresh.categories:
            log.warning("hub config %s not reloaded: it names no category", self.config.path)
            return None
        self.config = fresh
        return fresh
