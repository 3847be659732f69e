"""The guides stay true: every `kinode` command they show parses, every link resolves, every spec section exists."""

import re
import shlex
from pathlib import Path

import pytest

from kinode.cli.entry import build_parser

ROOT = Path(__file__).resolve().parents[2]
GUIDES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def shown_commands(path: Path) -> list[str]:
    """`kinode ...` lines inside ```sh blocks (a trailing # comment is not part of the command)."""
    blocks = re.findall(r"```sh\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip().startswith("kinode ")]


def test_the_guides_show_commands():
    assert sum(len(shown_commands(p)) for p in GUIDES) >= 25


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.name)
def test_every_command_a_guide_shows_parses(path, capsys):
    parser = build_parser()
    for line in shown_commands(path):
        try:
            parser.parse_args(shlex.split(line, comments=True)[1:])
        except SystemExit:
            pytest.fail(f"{path.name}: `{line}` does not parse: {capsys.readouterr().err.strip()}")


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.name)
def test_every_relative_link_resolves(path):
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
        assert (path.parent / target).exists(), f"{path.name} links to {target}, which does not exist"


def test_the_overview_names_only_sections_the_spec_has():
    spec = (ROOT / "specs" / "protocol.md").read_text(encoding="utf-8")
    sections = {int(n) for n in re.findall(r"^## (\d+)\. ", spec, re.MULTILINE)}
    named = {int(n) for n in re.findall(r"[Ss]ections? (\d+)", (ROOT / "docs" / "protocol-overview.md").read_text())}
    assert named and named <= sections, f"no such sections: {sorted(named - sections)}"
