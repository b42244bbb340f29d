"""Folded stacks to an SVG flame graph: one rectangle per frame, width by
samples, root at the bottom, with a tooltip per frame.  Self-contained SVG
(no script), so any browser or image viewer shows it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

WIDTH = 1200
ROW = 16
MIN_WIDTH = 0.5  # pixels: narrower frames are left out


@dataclass
class Node:
    name: str
    count: int = 0
    children: dict[str, Node] = field(default_factory=dict)


def parse_folded(text: str) -> Node:
    root = Node("all")
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        root.count += n
        node = root
        for frame in stack.split(";"):
            node = node.children.setdefault(frame, Node(frame))
            node.count += n
    return root


def _depth(node: Node) -> int:
    return 1 + max((_depth(c) for c in node.children.values()), default=0)


def _color(name: str) -> str:
    h = hashlib.md5(name.encode()).digest()
    if name.endswith("_[k]"):
        return f"rgb({200 + h[0] % 55},{120 + h[1] % 60},{40 + h[2] % 40})"
    return f"rgb({220 + h[0] % 35},{80 + h[1] % 100},{30 + h[2] % 40})"


def flamegraph_svg(folded: str, title: str = "Flame Graph") -> str:
    root = parse_folded(folded)
    depth = _depth(root)
    height = (depth + 2) * ROW + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="monospace" font-size="11">',
           f'<rect width="{WIDTH}" height="{height}" fill="#f8f8f8"/>',
           f'<text x="{WIDTH // 2}" y="16" text-anchor="middle" font-size="14">{escape(title)}</text>']
    if root.count == 0:
        out.append(f'<text x="{WIDTH // 2}" y="40" text-anchor="middle">no samples yet</text></svg>')
        return "\n".join(out)
    scale = (WIDTH - 20) / root.count

    def draw(node: Node, x: float, level: int) -> None:
        w = node.count * scale
        if w < MIN_WIDTH:
            return
        y = height - (level + 1) * ROW - 4
        pct = 100.0 * node.count / root.count
        label = escape(f"{node.name} ({node.count} samples, {pct:.2f}%)")
        out.append(f'<g><title>{label}</title><rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{ROW - 1}" '
                   f'fill="{_color(node.name)}" rx="2"/>')
        chars = int(w / 7)
        if chars >= 3:
            text = node.name if len(node.name) <= chars else node.name[:chars - 2] + ".."
            out.append(f'<text x="{x + 3:.1f}" y="{y + ROW - 4}">{escape(text)}</text>')
        out.append("</g>")
        cx = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            draw(child, cx, level + 1)
            cx += child.count * scale

    draw(root, 10.0, 0)
    out.append("</svg>")
    return "\n".join(out) + "\n"
