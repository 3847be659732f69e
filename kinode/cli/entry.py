"""The `kinode` command line: the parser, the identity commands, and one way to fail.

Each command module registers its subcommands with `add_commands(commands,
unlock, passphrase_env)`; REGISTRARS lists them, so the CLI reference
(docs/generate_cli.py) picks up every subcommand without knowing its module.
"""

import argparse
import getpass
import importlib
import os
import sqlite3
import sys

from kinode import __version__, keystore
from kinode.cli import output
from kinode.cli.output import EXIT_CODES, add_json_flag, emit, report_error
from kinode.errors import EmptyPassphrase, KinodeError, PassphraseMismatch, PassphraseRequired
from protocol.errors import ProtocolError
from protocol.identity import Identity

PASSPHRASE_ENV = "KINODE_PASSPHRASE"
EXIT_ERROR = output.EXIT_USAGE  # kept for callers that predate the exit-code table

# Modules with `add_commands(commands, unlock, passphrase_env)`, in the order `kinode --help` lists them.
REGISTRARS = (
    "kinode.cli.commands",
    "kinode.cli.local_commands",
    "kinode.cli.verify_command",
    "kinode.cli.search_command",
    "kinode.cli.rotate",
    "kinode.cli.history",
    "kinode.cli.work_commands",
    "kinode.cli.hub_commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kinode", description="A federated peer-to-peer node for self-employed work.",
        epilog="exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()))
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
    add_json_flag(init)
    init.set_defaults(run=run_init)

    whoami = commands.add_parser(
        "whoami",
        help="unlock this node's identity and print its DID",
        description=f"Unlock the identity in DATA_DIR (passphrase from ${PASSPHRASE_ENV} or a prompt) and print its DID.",
    )
    whoami.add_argument("--data-dir", required=True, help="the node's data directory")
    add_json_flag(whoami)
    whoami.set_defaults(run=run_whoami)
    for name in REGISTRARS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:  # a registrar that exists but is broken must fail loudly
                raise
            continue  # not written yet (the lifecycle verbs arrive in their own module)
        module.add_commands(commands, unlock, PASSPHRASE_ENV)
    return parser


def run_init(args: argparse.Namespace) -> int:
    keystore.ensure_absent(args.data_dir)  # before asking for a passphrase that would be wasted
    passphrase = None if args.no_passphrase else new_passphrase()
    identity = keystore.create_identity(args.data_dir, passphrase)
    how = "unencrypted" if passphrase is None else "encrypted"
    path = keystore.identity_path(args.data_dir)
    if not args.json:
        print(f"created identity in {path} ({how})", file=sys.stderr)
    emit(args, {"did": identity.did, "path": str(path), "encrypted": passphrase is not None}, identity.did)
    return 0


def run_whoami(args: argparse.Namespace) -> int:
    did = unlock(args.data_dir).did
    emit(args, {"did": did}, did)
    return 0


def unlock(data_dir: str) -> Identity:
    """The identity in `data_dir`, asking for its passphrase only if it is encrypted."""
    try:
        return keystore.load_identity(data_dir, os.environ.get(PASSPHRASE_ENV))
    except PassphraseRequired:
        hint = f"set {PASSPHRASE_ENV} to the passphrase of the key in {keystore.identity_path(data_dir)}"
        return keystore.load_identity(data_dir, _prompt("Passphrase for the identity key: ", hint))


def new_passphrase() -> str:
    """The passphrase for a new key: $KINODE_PASSPHRASE, else typed twice at a prompt."""
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    hint = f"set {PASSPHRASE_ENV}, or pass --no-passphrase to store the key unencrypted"
    first = _prompt("New passphrase for the identity key: ", hint)
    if first == "":
        raise EmptyPassphrase("the passphrase is empty; choose one, or pass --no-passphrase to store the key unencrypted")
    if _prompt("Repeat the passphrase: ", hint) != first:
        raise PassphraseMismatch("the two passphrases differ; nothing was written")
    return first


def _prompt(text: str, hint: str) -> str:
    # getpass falls back to reading stdin, echoing, when there is no
    # terminal; a key passphrase must never be read that way, so say how to
    # give one instead (`hint`: what the command at hand accepts).
    try:
        os.close(os.open("/dev/tty", os.O_RDWR))
        return getpass.getpass(text)
    except (OSError, EOFError):
        raise PassphraseRequired(f"no terminal to ask for a passphrase: {hint}") from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except KinodeError as error:
        report_error(args, error.code, error.detail)
        return output.exit_code(error)
    except ProtocolError as error:  # a rule the command did not translate: still one sentence and its code
        report_error(args, error.code, error.detail)
        return output.EXIT_USAGE
    except KeyboardInterrupt:
        report_error(args, "interrupted", "interrupted")
        return output.EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`kinode status | head`): nothing to tell it, and
        # Python's own flush at exit must not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return output.EXIT_PIPE_CLOSED
    except (OSError, sqlite3.Error) as error:
        report_error(args, "io_error", f"{error}")
        return output.EXIT_FAILURE
    except Exception as error:  # a bug: still one line, unless the person debugging asks for the traceback
        if os.environ.get("KINODE_DEBUG"):
            raise
        report_error(args, "internal_error", f"internal error ({type(error).__name__}: {error}); "
                                             "run again with KINODE_DEBUG=1 for the traceback and report it")
        return output.EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
