"""`hub.toml`: what a hub operator configures (spec section 14.1).

    name = "Web design hub"
    fee_bps = 250                      # the hub's fee in basis points, announced
    leaders = ["did:key:z6Mk..."]      # category leaders besides the hub's own key
    peers = ["https://hub2.example"]   # added to --peer

    [moderation]
    policy = "Listings must name a price."
    honour = ["did:key:z6Mk..."]       # other hubs whose labels this hub applies

    [categories.web-design]
    title = "Web design"
    description = "Design and build of websites."
    parent = "design"

Flags add to the file (`--category`, `--peer`). Any mistake is a
`BadHubConfig` naming the key, before anything starts.
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinode.errors import KinodeError
from protocol.bodies import BODY_TYPES
from protocol.errors import ProtocolError
from protocol.identity import is_did
from protocol.shapes import SLUG

FILE_NAME = "hub.toml"
TOP_KEYS = {"name", "fee_bps", "leaders", "peers", "moderation", "categories"}


class BadHubConfig(KinodeError):
    code, status = "bad_config", 400


@dataclass(frozen=True)
class Category:
    slug: str
    title: str
    description: str | None = None
    parent: str | None = None

    def body(self) -> dict[str, Any]:
        """The body of this category's `category` object (the type calls the title `name`)."""
        body = {"slug": self.slug, "name": self.title}
        if self.description:
            body["description"] = self.description
        if self.parent:
            body["parent"] = self.parent
        return body


@dataclass(frozen=True)
class HubConfig:
    name: str = "kinode hub"
    categories: tuple[Category, ...] = ()
    leaders: tuple[str, ...] = ()
    fee_bps: int | None = None
    peers: tuple[str, ...] = ()
    policy: str | None = None
    honour: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(c.slug for c in self.categories)

    def with_flags(self, categories: list[str], peers: list[str]) -> "HubConfig":
        """The file's settings plus --category and --peer (a flag category gets its slug as title)."""
        known = set(self.slugs)
        extra = tuple(Category(s, s) for s in dict.fromkeys(categories) if s not in known)
        return HubConfig(self.name, self.categories + extra, self.leaders, self.fee_bps,
                         tuple(dict.fromkeys((*self.peers, *peers))), self.policy, self.honour, self.path)

    def announcement(self, url: str) -> dict[str, Any]:
        """The body of this hub's `hub` announcement at `url`."""
        body: dict[str, Any] = {"url": url, "name": self.name, "categories": list(self.slugs)}
        if self.policy:
            body["policy"] = self.policy
        if self.leaders:
            body["leaders"] = list(self.leaders)
        if self.fee_bps is not None:
            body["fee_bps"] = self.fee_bps
        return body


def default_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / FILE_NAME


def load(path: str | Path, *, required: bool = True) -> HubConfig:
    """The configuration in `path`; an empty one when the file is absent and not `required`."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise BadHubConfig(f"{path}: no such file") from None
        return HubConfig(path=path)
    except (OSError, UnicodeDecodeError) as error:
        raise BadHubConfig(f"{path}: cannot read it ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise BadHubConfig(f"{path}: not TOML ({error})") from None
    return parse(raw, path)


def parse(raw: dict[str, Any], path: Path | None = None) -> HubConfig:
    where = f"{path}: " if path else ""

    def bad(key: str, what: str) -> BadHubConfig:
        return BadHubConfig(f"{where}{key}: {what}")

    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise bad(sorted(unknown)[0], f"unknown key; the keys are {', '.join(sorted(TOP_KEYS))}")
    name = raw.get("name", "kinode hub")
    fee = raw.get("fee_bps")
    if fee is not None and (type(fee) is not int or not 0 <= fee <= 10_000):
        raise bad("fee_bps", "an integer number of basis points, 0..10000")
    leaders = _strings(raw, "leaders", bad)
    for did in leaders:
        if not is_did(did):
            raise bad("leaders", f"{did!r} is not an Ed25519 did:key")
    peers = _strings(raw, "peers", bad)
    moderation = raw.get("moderation", {})
    if not isinstance(moderation, dict) or set(moderation) - {"policy", "honour"}:
        raise bad("moderation", "a table with policy (text) and honour (a list of hub DIDs)")
    honour = _strings(moderation, "honour", bad)
    if not all(is_did(d) for d in honour):
        raise bad("moderation.honour", "every entry is an Ed25519 did:key of a hub")
    policy = moderation.get("policy")
    categories = []
    table = raw.get("categories", {})
    if not isinstance(table, dict):
        raise bad("categories", "a table of [categories.SLUG] tables")
    for slug, entry in table.items():
        if not SLUG.ok(slug):
            raise bad(f"categories.{slug}", "not a category slug (lowercase letters, digits, single hyphens)")
        if not isinstance(entry, dict) or set(entry) - {"title", "description", "parent"}:
            raise bad(f"categories.{slug}", "a table with title, description and parent")
        categories.append(Category(slug, entry.get("title", slug), entry.get("description"), entry.get("parent")))
    config = HubConfig(name, tuple(categories), tuple(leaders), fee, tuple(peers), policy, tuple(honour), path)
    _check_bodies(config, bad)
    return config


def _strings(table: dict, key: str, bad) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad(key, "a list of strings")
    return list(dict.fromkeys(value))


def _check_bodies(config: HubConfig, bad) -> None:
    """The objects the hub will publish must be valid; say which key makes one invalid."""
    try:  # (categories may still come from --category: the announcement is checked again then)
        if config.categories:
            BODY_TYPES["hub"].fields.check(config.announcement("https://hub.invalid/"), "hub")
    except ProtocolError as error:
        raise bad("(announcement)", error.detail) from None
    for category in config.categories:
        try:
            BODY_TYPES["category"].fields.check(category.body(), f"categories.{category.slug}")
            if category.parent == category.slug:
                raise ProtocolError(f"categories.{category.slug}.parent: a category cannot be its own parent")
        except ProtocolError as error:
            raise bad(f"categories.{category.slug}", error.detail) from None
