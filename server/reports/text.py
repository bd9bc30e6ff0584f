"""Light formatting for reports: paragraphs, bulleted lists and **bold**, nothing else.

The text is escaped first and only these few shapes become HTML, so a report can never carry
markup, a script or a link into the page (the CSP forbids inline script anyway)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_BULLET = re.compile(r"^\s*[-*•]\s+")


def _inline(line: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", str(escape(line)))


def light_format(text: str) -> Markup:
    blocks: list[str] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if all(_BULLET.match(line) for line in lines):
            items = "".join(f"<li>{_inline(_BULLET.sub('', line))}</li>" for line in lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append("<p>" + "<br>".join(_inline(line) for line in lines) + "</p>")
    return Markup("".join(blocks))  # noqa: S704 - every piece was escaped above
