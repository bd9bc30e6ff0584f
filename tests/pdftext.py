"""Reading the text shown on the pages of the PDFs Roundtable builds (fpdf2, with embedded
fonts mapped through ToUnicode, or core fonts in Latin-1), so tests can search them."""

from __future__ import annotations

import re
import zlib

_OBJ = re.compile(rb"(\d+) 0 obj\s*")
_STRING = rb"\((?:\\.|[^\\)])*\)"
_CONTENT = re.compile(rb"/(F\d+)\s+[\d.]+\s+Tf|(" + _STRING + rb")\s*Tj|\[((?:" + _STRING + rb"|[^\]])*)\]\s*TJ", re.S)


def _objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number -> (dictionary bytes, decoded stream or None), read by /Length so that
    binary font data is never mistaken for structure."""
    objects: dict[int, tuple[bytes, bytes | None]] = {}
    pos = 0
    while match := _OBJ.search(data, pos):
        start, end = match.end(), data.find(b"endobj", match.end())
        begin = data.find(b"stream", start)
        if begin == -1 or begin > end:
            objects[int(match.group(1))] = (data[start:end], None)
            pos = end + 6
            continue
        head = data[start:begin]
        length = re.search(rb"/Length (\d+)", head)
        assert length is not None
        body = begin + len(b"stream") + (2 if data[begin + 6 : begin + 8] == b"\r\n" else 1)
        raw = data[body : body + int(length.group(1))]
        objects[int(match.group(1))] = (head, zlib.decompress(raw) if b"/FlateDecode" in head else raw)
        pos = data.find(b"endobj", body + int(length.group(1))) + 6
    return objects


def _unescape(literal: bytes) -> bytes:
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(match: re.Match[bytes]) -> bytes:
        text = match.group(1)
        if text[:1].isdigit():
            return bytes([int(text, 8)])
        return escapes.get(text, text)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal[1:-1], flags=re.S)


def _cmap(stream: bytes) -> dict[int, str]:
    return {
        int(code, 16): bytes.fromhex(uni.decode()).decode("utf-16-be")
        for code, uni in re.findall(rb"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>", stream.split(b"beginbfchar", 1)[-1])
    }


def pdf_text(data: bytes) -> str:
    """The text shown on the pages, one line per text operation (ToUnicode maps for embedded
    fonts, Latin-1 for the core fonts)."""
    objects = _objects(data)
    maps: dict[str, dict[int, str] | None] = {}
    for head, _ in objects.values():
        for name, number in re.findall(rb"/(F\d+) (\d+) 0 R", head):
            to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", objects[int(number)][0])
            maps[name.decode()] = _cmap(objects[int(to_unicode.group(1))][1] or b"") if to_unicode else None
    pages = [int(n) for head, _ in objects.values() for n in re.findall(rb"/Contents (\d+) 0 R", head)]
    lines: list[str] = []
    for page in pages:
        font: dict[int, str] | None = None
        for match in _CONTENT.finditer(objects[page][1] or b""):
            if match.group(1):
                font = maps.get(match.group(1).decode())
                continue
            literals = [match.group(2)] if match.group(2) else re.findall(_STRING, match.group(3))
            raw = b"".join(_unescape(lit) for lit in literals)
            if font is None:
                lines.append(raw.decode("latin-1"))
            else:
                lines.append(
                    "".join(font.get(int.from_bytes(raw[i : i + 2], "big"), "?") for i in range(0, len(raw), 2))
                )
    return "\n".join(lines)


# --- driving a meeting through the API ------------------------------------------------------------
