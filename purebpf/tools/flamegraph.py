"""A flame graph as a standalone SVG, from folded stacks.

Each frame is a box as wide as the share of samples whose stack passes
through it, stacked from the root (bottom) up; hovering shows a tooltip
(``<title>``) with the frame and its sample count.  No script, no external
file: the SVG opens in any browser.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

FRAME_HEIGHT = 16
FONT_SIZE = 12
WIDTH = 1200
PAD = 10
MIN_WIDTH = 0.1  # pixels: narrower frames are not drawn


@dataclass
class Node:
    name: str
    count: int = 0
    children: dict[str, Node] = field(default_factory=dict)

    def depth(self) -> int:
        return 1 + max((c.depth() for c in self.children.values()), default=0)


def parse_folded(lines: list[str]) -> Node:
    root = Node("all")
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        root.count += n
        node = root
        for frame in stack.split(";"):
            node = node.children.setdefault(frame, Node(frame))
            node.count += n
    return root


def _colour(name: str) -> str:
    """A warm colour that depends only on the name, so graphs compare."""
    h = hashlib.md5(name.encode()).digest()
    if name.endswith("_[k]"):
        return f"rgb({200 + h[0] % 55},{100 + h[1] % 80},{50 + h[2] % 40})"
    return f"rgb({205 + h[0] % 50},{80 + h[1] % 120},{h[2] % 55})"


def render(lines: list[str], title: str = "Flame Graph") -> str:
    root = parse_folded(lines)
    depth = root.depth()
    height = depth * FRAME_HEIGHT + 3 * PAD + FONT_SIZE * 2
    scale = (WIDTH - 2 * PAD) / root.count if root.count else 0
    out = [
        '<?xml version="1.0" standalone="no"?>',
        f'<svg version="1.1" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fdf6e3"/>',
        f'<text x="{WIDTH // 2}" y="{PAD + FONT_SIZE}" font-size="{FONT_SIZE + 4}" font-family="Verdana" '
        f'text-anchor="middle">{escape(title)}</text>',
    ]

    def draw(node: Node, x: float, level: int) -> None:
        w = node.count * scale
        if w < MIN_WIDTH:
            return
        y = height - PAD - (level + 1) * FRAME_HEIGHT
        share = 100.0 * node.count / root.count
        label = f"{node.name} ({node.count} samples, {share:.2f}%)"
        out.append(f'<g><title>{escape(label)}</title><rect x="{x:.2f}" y="{y}" width="{w:.2f}" '
                   f'height="{FRAME_HEIGHT - 1}" fill="{_colour(node.name)}" rx="2" ry="2"/>')
        chars = int(w / (FONT_SIZE * 0.6))
        if chars >= 3:
            text = node.name if len(node.name) <= chars else node.name[: chars - 2] + ".."
            out.append(f'<text x="{x + 3:.2f}" y="{y + FRAME_HEIGHT - 4}" font-size="{FONT_SIZE}" '
                       f'font-family="Verdana">{escape(text)}</text>')
        out.append("</g>")
        child_x = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            draw(child, child_x, level + 1)
            child_x += child.count * scale

    if root.count:
        draw(root, PAD, 0)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write(path: str, lines: list[str], title: str) -> None:
    """Render folded ``lines`` and write the SVG to ``path`` (the tools' ``--svg FILE``)."""
    with open(path, "w") as f:
        f.write(render(lines, title=title))
