"""The stylesheet's colour pairs meet WCAG 2 AA contrast (4.5:1 for text) — read from style.css itself."""

import re
from pathlib import Path

import pytest

import web_ui

CSS = (Path(web_ui.__file__).parent / "static" / "style.css").read_text()
COLOURS = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-fA-F]{6})", CSS))
WHITE, LIVE = "#ffffff", "#fff4c2"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# (text, background) pairs the pages use
PAIRS = [("ink", "paper"), ("muted", "paper"), ("accent", "paper"), ("ok", "paper"), ("bad", "paper"),
         ("ink", "tint"), ("muted", "tint"), ("accent", "tint"), ("bad", "tint"), ("ok", "tint"),
         (WHITE, "ink"), (WHITE, "accent"), (WHITE, "bad"), ("ink", LIVE)]


@pytest.mark.parametrize("text,background", PAIRS)
def test_text_contrast_is_at_least_4_5(text, background):
    fg, bg = COLOURS.get(text, text), COLOURS.get(background, background)
    assert contrast(fg, bg) >= 4.5, f"{text} on {background}: {contrast(fg, bg):.2f}:1"


def test_the_palette_was_read():
    assert {"ink", "muted", "paper", "tint", "accent", "ok", "bad"} <= set(COLOURS)
