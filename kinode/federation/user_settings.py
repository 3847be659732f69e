"""A participant's own settings, kept in `<data dir>/settings.json` and changed from the web UI.

The file holds what the owner chose in the UI: extra hubs to publish to,
whether to use the hub directory and whether to discover LAN hubs. At start
it is merged with the command-line flags, and the flags win: a `--hub` is
always used, `--discover` is always on, `--no-hub-directory` always off.
A hub added here becomes a remote at once (what is published next reaches
it); discovery and the directory switch take effect on the next start,
because their background tasks are started with the node.

The file is written atomically (a temporary file, then a rename), so a crash
leaves the old settings or the new ones, never half of either.
"""

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from kinode.errors import BadUrl
from kinode.federation.ssrf import parse_url
from kinode.node import Node, Remote

FILE = "settings.json"
MAX_HUBS = 32  # a person publishes to a handful of hubs; more is a typo loop, not a choice


class SettingsError(ValueError):
    """A refused change: `field` names the form field, `code` the machine code, str() one sentence."""

    def __init__(self, field: str, code: str, sentence: str):
        super().__init__(sentence)
        self.field, self.code = field, code


@dataclass(frozen=True)
class UserSettings:
    hubs: tuple[str, ...] = ()
    discover: bool = False
    hub_directory: bool = True

    def as_json(self) -> dict:
        return {"hubs": list(self.hubs), "discover": self.discover, "hub_directory": self.hub_directory}


def path(data_dir: str | Path) -> Path:
    return Path(data_dir) / FILE


def load(data_dir: str | Path) -> UserSettings:
    """The saved settings, or the defaults when there is no file. A file that is not ours is an error."""
    file = path(data_dir)
    if not file.exists():
        return UserSettings()
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        hubs = tuple(check_url(u) for u in raw.get("hubs", []))
        discover, directory = raw.get("discover", False), raw.get("hub_directory", True)
        if not isinstance(discover, bool) or not isinstance(directory, bool):
            raise SettingsError("_form", "bad_config", "discover and hub_directory must be true or false")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, TypeError) as error:
        raise SettingsError("_form", "bad_config", f"{file} is not a kinode settings file: {error}") from None
    return UserSettings(hubs, discover, directory)


def save(data_dir: str | Path, settings: UserSettings) -> None:
    file = path(data_dir)
    temporary = file.with_name(FILE + ".tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(settings.as_json(), out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, file)


def check_url(url: object) -> str:
    """A hub URL by the rules `serve --hub` uses, without a trailing slash; else SettingsError."""
    if not isinstance(url, str) or not url.strip():
        raise SettingsError("hub", "bad_url", "Give the hub's URL, like http://127.0.0.1:7310.")
    url = url.strip()
    try:
        parse_url(url)
    except BadUrl as error:
        sentence = error.detail.split(": ", 1)[-1]
        raise SettingsError("hub", "bad_url", sentence[:1].upper() + sentence[1:] + ".") from None
    return url.rstrip("/")


def merged_hubs(flag_hubs: tuple[str, ...], settings: UserSettings) -> tuple[str, ...]:
    """--hub URLs first, then the saved ones not already given."""
    given = [u.rstrip("/") for u in flag_hubs]
    return tuple(flag_hubs) + tuple(u for u in settings.hubs if u not in given)


def flag_hubs(node: Node) -> tuple[str, ...]:
    return tuple(u.rstrip("/") for u in node.config.extra.get("flag_hubs", ()))


def current(node: Node) -> UserSettings:
    return load(node.config.data_dir)


def add_hub(node: Node, url: object) -> str:
    """Save `url` as a hub and make it a remote now; what is published from now on is routed to it too."""
    url = check_url(url)
    saved = current(node)
    if url in saved.hubs or url in flag_hubs(node):
        raise SettingsError("hub", "already_known", f"{url} is already one of your hubs.")
    if len(saved.hubs) >= MAX_HUBS:
        raise SettingsError("hub", "too_many", f"At most {MAX_HUBS} hubs can be added here.")
    save(node.config.data_dir, dataclasses.replace(saved, hubs=saved.hubs + (url,)))
    node.remotes.setdefault(url, Remote(url))
    # The hub directory asks the node's hubs; a hub added here is asked too from now on.
    if url not in node.config.hubs:
        node.config = dataclasses.replace(node.config, hubs=node.config.hubs + (url,))
    node.changes.notify()
    return url


def remove_hub(node: Node, url: object) -> str:
    """Forget a hub added here; nothing new is routed to it (entries already queued for it stay queued)."""
    url = url.strip().rstrip("/") if isinstance(url, str) else ""
    if url in flag_hubs(node):
        raise SettingsError("hub", "from_flag", f"{url} was given with --hub; restart the node without it.")
    saved = current(node)
    if url not in saved.hubs:
        raise SettingsError("hub", "unknown_hub", f"{url or 'That'} is not a hub added here.")
    save(node.config.data_dir, dataclasses.replace(saved, hubs=tuple(u for u in saved.hubs if u != url)))
    node.remotes.pop(url, None)
    node.config = dataclasses.replace(node.config, hubs=tuple(u for u in node.config.hubs if u.rstrip("/") != url))
    return url


def set_options(node: Node, discover: bool, hub_directory: bool) -> UserSettings:
    """Saved for the next start (their tasks start with the node)."""
    saved = dataclasses.replace(current(node), discover=discover, hub_directory=hub_directory)
    save(node.config.data_dir, saved)
    return saved
