"""The SVG vocabulary every picture here shares: fonts and sizes, escaping, text widths,
numbers, paths and arrowheads, centred text, colour ramps, stroke widths and the frame."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .geometry import Cubic

FONT = "Helvetica, Arial, sans-serif"
NAME_SIZE = 12.0  # activity name, in px
COUNT_SIZE = 11.0  # the count under the name
LABEL_SIZE = 10.5  # edge labels and caption
MAX_NAME_EMS = 22.0  # longer names are cut with an ellipsis (the tooltip keeps them whole)
PALE, DEEP = (0xEE, 0xF3, 0xFA), (0x24, 0x57, 0x9B)  # node fill, rare to frequent
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTR = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#39;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def escape(text: str) -> str:
    """Text safe in XML content and in double-quoted attributes; invalid characters become �."""
    return _NOT_XML.sub("\ufffd", text).translate(_ATTR)


def text_ems(text: str) -> float:
    """Estimated width of `text` in ems (sans-serif): wide for CJK and emoji, zero for marks."""
    total = 0.0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            total += 1.0
        elif ch in "iljtf.,;:'|!()[] ":
            total += 0.32
        elif ch.isupper() or ch in "mwMW@%":
            total += 0.74
        else:
            total += 0.6
    return total


def visible_name(name: str) -> str:
    """The name as shown in its box: one line, cut with an ellipsis when too wide."""
    text = " ".join(CONTROL_CHARS.sub(" ", name).split()) or " "
    if text_ems(text) <= MAX_NAME_EMS:
        return text
    while text and text_ems(text) > MAX_NAME_EMS - 0.6:
        text = text[:-1]
    return text + "…"


def px(v: float) -> str:
    """A coordinate or size as SVG text: one decimal, none when whole, never -0."""
    text = f"{v:.1f}"
    if text[-2:] == ".0":
        text = text[:-2]
    return "0" if text == "-0" else text


def path_data(curves: tuple[Cubic, ...]) -> str:
    """The `d` attribute of a path through the cubic pieces; straight runs as H."""
    (x0, y0) = curves[0][0]
    parts = [f"M{x0:.1f},{y0:.1f}"]
    for p0, c1, c2, (x, y) in curves:
        if c1 == p0 and c2 == (x, y) and p0[1] == y:  # a straight run through a column
            parts.append(f"H{x:.1f}")
        else:
            parts.append(f"C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {x:.1f},{y:.1f}")
    return " ".join(parts)


def with_arrow(curves: tuple[Cubic, ...], length: float) -> tuple[tuple[Cubic, ...], str]:
    """The curves shortened by `length` at the end, and an arrowhead filling that gap."""
    p0, c1, c2, tip = curves[-1]
    dx, dy = tip[0] - c2[0], tip[1] - c2[1]
    norm = math.hypot(dx, dy) or 1.0
    ux, uy = dx / norm, dy / norm
    base = (tip[0] - ux * length, tip[1] - uy * length)
    last = (p0, c1, (c2[0] - ux * length, c2[1] - uy * length), base)
    half = length * 0.45
    left = (base[0] - uy * half, base[1] + ux * half)
    right = (base[0] + uy * half, base[1] - ux * half)
    head = (
        f"M{px(tip[0])},{px(tip[1])} L{px(left[0])},{px(left[1])} L{px(right[0])},{px(right[1])} Z"
    )
    return (*curves[:-1], last), head


def svg_text(x: float, y: float, size: float, text: str, **attrs: str) -> str:
    """A <text> centred on (x, y); keyword attributes with _ written as -."""
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    # 0.35em below the centre puts the middle of lowercase letters on `y`.
    return (
        f'<text x="{px(x)}" y="{px(y + size * 0.35)}" font-size="{px(size)}" '
        f'text-anchor="middle"{extra}>{escape(text)}</text>'
    )


# Colours and widths are always paired with text: never the only signal.
def mix(lo: tuple[int, int, int], hi: tuple[int, int, int], t: float) -> str:
    """The colour at `t` (clamped to 0..1) from `lo` to `hi`, as #rrggbb."""
    t = min(max(t, 0.0), 1.0)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(lo, hi, strict=True))


def stroke_width(count: int, max_count: int) -> float:
    """1 to 6 px, growing with the square root of the count's share of the largest."""
    return round(1.0 + 5.0 * math.sqrt(max(count, 0) / max_count), 2)


def svg_frame(w: float, h: float, width: float | None, title: str, body: list[str]) -> str:
    """The whole SVG document: `body` on white, titled; `width` scales it, in px."""
    shown_w, shown_h = (w, h) if width is None else (width, h * width / w)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{px(shown_w)}" '
        f'height="{px(shown_h)}" viewBox="0 0 {px(w)} {px(h)}" role="img" '
        f'aria-label="{escape(title)}" font-family="{FONT}">'
    )
    background = f'<rect x="0" y="0" width="{px(w)}" height="{px(h)}" fill="#ffffff"/>'
    return "\n".join([head, f"<title>{escape(title)}</title>", background, *body, "</svg>"]) + "\n"
