"""The `kinode` command line."""

import argparse
import getpass
import os
import sys

from kinode import __version__, keystore
from kinode.cli.commands import add_commands
from kinode.errors import EmptyPassphrase, KinodeError, PassphraseMismatch, PassphraseRequired
from protocol.identity import Identity

PASSPHRASE_ENV = "KINODE_PASSPHRASE"
EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kinode", description="A federated peer-to-peer node for self-employed work.")
    parser.add_argument("--version", action="version", version=f"kinode {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = commands.add_parser(
        "init",
        help="create this node's identity",
        description=(
            "Create a new identity (an Ed25519 key, named by a did:key) in DATA_DIR and print its DID. "
            f"The key is encrypted with a passphrase from ${PASSPHRASE_ENV} or, if unset, asked twice."
        ),
    )
    init.add_argument("--data-dir", required=True, help="the node's data directory (created if missing)")
    init.add_argument(
        "--no-passphrase", action="store_true",
        help="store the key unencrypted (mode 0600); for scripts and tests",
    )
    init.set_defaults(run=run_init)

    whoami = commands.add_parser(
        "whoami",
        help="unlock this node's identity and print its DID",
        description=f"Unlock the identity in DATA_DIR (passphrase from ${PASSPHRASE_ENV} or a prompt) and print its DID.",
    )
    whoami.add_argument("--data-dir", required=True, help="the node's data directory")
    whoami.set_defaults(run=run_whoami)
    add_commands(commands, unlock, PASSPHRASE_ENV)
    return parser


def run_init(args: argparse.Namespace) -> int:
    keystore.ensure_absent(args.data_dir)  # before asking for a passphrase that would be wasted
    passphrase = None if args.no_passphrase else new_passphrase()
    identity = keystore.create_identity(args.data_dir, passphrase)
    how = "unencrypted" if passphrase is None else "encrypted"
    print(f"created identity in {keystore.identity_path(args.data_dir)} ({how})", file=sys.stderr)
    print(identity.did)
    return 0


def run_whoami(args: argparse.Namespace) -> int:
    print(unlock(args.data_dir).did)
    return 0


def unlock(data_dir: str) -> Identity:
    """The identity in `data_dir`, asking for its passphrase only if it is encrypted."""
    try:
        return keystore.load_identity(data_dir, os.environ.get(PASSPHRASE_ENV))
    except PassphraseRequired:
        return keystore.load_identity(data_dir, _prompt("Passphrase for the identity key: "))


def new_passphrase() -> str:
    """The passphrase for a new key: $KINODE_PASSPHRASE, else typed twice at a prompt."""
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    first = _prompt("New passphrase for the identity key: ")
    if first == "":
        raise EmptyPassphrase("the passphrase is empty; choose one, or pass --no-passphrase to store the key unencrypted")
    if _prompt("Repeat the passphrase: ") != first:
        raise PassphraseMismatch("the two passphrases differ; nothing was written")
    return first


def _prompt(text: str) -> str:
    # getpass falls back to reading stdin, echoing, when there is no
    # terminal; a key passphrase must never be read that way, so say how to
    # give one instead.
    try:
        os.close(os.open("/dev/tty", os.O_RDWR))
        return getpass.getpass(text)
    except (OSError, EOFError):
        raise PassphraseRequired(
            f"no terminal to ask for a passphrase: set {PASSPHRASE_ENV}, or pass --no-passphrase to store the key unencrypted"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except KinodeError as error:
        print(f"kinode: {error.detail} [{error.code}]", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("kinode: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
