"""Write docs/cli.md from the parser itself: every registered subcommand's --help, the exit codes and error codes.

    .venv/bin/python docs/generate_cli.py          # rewrite docs/cli.md
    .venv/bin/python docs/generate_cli.py --check  # exit 1 if docs/cli.md is stale

tests/kinode/test_cli_reference.py fails when the committed file differs from
what this prints, so a new flag or command cannot land undocumented.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal: fix the width so the output is reproducible

from kinode.cli.entry import PASSPHRASE_ENV, build_parser  # noqa: E402
from kinode.cli.output import CLI_CODES, EXIT_CODES  # noqa: E402

TARGET = ROOT / "docs" / "cli.md"

INTRO = f"""# The `kinode` command line

Generated from `kinode --help` by `docs/generate_cli.py`; do not edit by hand
(a test fails when this file is stale).

## Reaching `kinode`

After `make install` (or `pip install --user .`) the command is `kinode`, in
`~/.local/bin` (put that directory on your `PATH` if your shell does not
already). Without installing, every Makefile target creates `.venv/`, and the
command is `.venv/bin/kinode`; `python -m kinode` works wherever the package
is importable.

## For people and for scripts

Every command prints lines for people by default and JSON with `--json`.
Results go to stdout; progress, warnings and errors go to stderr. An error is
one line, `kinode: SENTENCE [code]`, or with `--json`
`{{"error": {{"code": ..., "detail": ...}}}}` on stderr. An encrypted key is
unlocked with the passphrase in `${PASSPHRASE_ENV}` or, at a terminal, a
prompt; without a terminal the command says which of these it accepts.
Long work (`reindex`) shows a progress bar on a terminal and a few plain lines
otherwise.

## Exit codes

| code | meaning |
|---|---|
"""


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is stale: run .venv/bin/python docs/generate_cli.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


def render() -> str:
    parser = build_parser()
    parts = [INTRO]
    parts += [f"| {code} | {meaning} |\n" for code, meaning in EXIT_CODES.items()]
    parts.append("\n## Error codes\n\nBesides the protocol's rejection codes (`specs/protocol.md` section 11), "
                 "which pass through unchanged (e.g. `invalid_body`, `key_rotated`):\n\n| code | meaning |\n|---|---|\n")
    parts += [f"| `{code}` | {meaning} |\n" for code, meaning in sorted(CLI_CODES.items())]
    parts.append("\n## Commands\n")
    for path, command in commands(parser):
        parts.append(f"\n### `{path}`\n\n```text\n{command.format_help().rstrip()}\n```\n")
    return "".join(parts)


def commands(parser: argparse.ArgumentParser, prefix: str = "kinode"):
    """(name path, parser) for the program and every subcommand, depth first, in registration order."""
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, f"{prefix} {name}")


if __name__ == "__main__":
    sys.exit(main())
