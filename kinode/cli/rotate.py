"""`kinode rotate`: move this node to a new key, telling everyone through a key_rotation.

The steps are ordered so that a crash at any point loses nothing and a second
`kinode rotate` finishes the job: successor key on disk, key_rotation stored
and queued (signed by the old key), then the old key retired and the
successor switched in (kinode/keystore.py).
"""

import argparse
import os
import time

from kinode import keystore
from kinode.cli.commands import store_locally
from kinode.cli.output import CliError, add_json_flag, emit
from protocol.envelope import sign
from storage.store import Store


def add_commands(commands: argparse._SubParsersAction, unlock, passphrase_env: str) -> None:
    rotate = commands.add_parser(
        "rotate", help="replace this node's key with a new one and publish the key_rotation",
        description="Generate a successor key, publish a key_rotation signed by the current key (queued for your hubs "
                    "like any object), keep the current key in DATA_DIR/retired/ and make the successor this node's "
                    f"identity. The successor gets the same protection as the current key (the passphrase from "
                    f"${passphrase_env} or the prompt). Restart a running `kinode serve` afterwards.")
    rotate.add_argument("--data-dir", required=True, help="the node's data directory")
    add_json_flag(rotate)
    rotate.set_defaults(run=lambda args: _rotate(args, unlock, passphrase_env))


def _rotate(args, unlock, passphrase_env: str) -> int:
    data_dir = args.data_dir
    old = unlock(data_dir)
    passphrase = _passphrase(data_dir, passphrase_env)
    successor = keystore.prepare_successor(data_dir, passphrase)
    rotation_id = _publish_rotation(data_dir, old, successor.did)
    retired = keystore.switch_to_successor(data_dir)
    data = {"old": old.did, "new": successor.did, "rotation": rotation_id, "retired_key": str(retired)}
    emit(args, data, lambda d: [
        f"rotated {d['old']}",
        f"     to {d['new']}",
        f"key_rotation {d['rotation']} is queued for your hubs; the old key is kept in {d['retired_key']}.",
        "Restart a running `kinode serve` so it signs with the new key, and publish your profile again under it.",
    ])
    return 0


def _passphrase(data_dir: str, passphrase_env: str) -> str | None:
    """The passphrase that protects the current key (so the successor gets it too), or None if it has none."""
    if not keystore.is_encrypted(data_dir):
        return None
    from_env = os.environ.get(passphrase_env)
    if from_env is not None:
        return from_env
    from kinode.cli.entry import _prompt  # the same no-terminal rule as every other prompt
    return _prompt("Passphrase for the identity key (the new key gets it too): ",
                   f"set {passphrase_env} to the passphrase of the key in {keystore.identity_path(data_dir)}")


def _publish_rotation(data_dir: str, old, successor: str) -> str:
    """The id of the old key's binding rotation to `successor`, publishing it unless a resumed run already did."""
    existing = _binding_rotation(data_dir, old.did)
    if existing is not None:
        rotation_id, named = existing
        if named != successor:
            raise CliError(f"{old.did} was already rotated to {named}, whose key this node does not hold; "
                           "that identity can only continue where that key is", code="key_rotated")
        return rotation_id
    now = int(time.time())
    rotation = sign(old, "key_rotation", {"successor": successor}, now)
    store_locally(data_dir, rotation, now)
    return rotation.id


def _binding_rotation(data_dir: str, did: str) -> tuple[str, str] | None:
    path = os.path.join(data_dir, "kinode.db")
    if not os.path.exists(path):
        return None
    store = Store(path)
    try:
        row = store.read_sync(lambda db: db.execute(
            "SELECT rotation_id, successor FROM key_rotations WHERE author = ?", [did]).fetchone())
    finally:
        store.close()
    return tuple(row) if row else None
