"""What the browser tests share for accessibility and screen sizes (issue 18): the sizes every
page is tried at, axe-core (vendored in `vendor/`, MPL-2.0, evaluated into the page, never
served, so the page's CSP stays as it is) and the sideways-scrolling check."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, ViewportSize

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

PHONE: ViewportSize = {"width": 390, "height": 844}
TABLET: ViewportSize = {"width": 820, "height": 1180}
WARD_PC: ViewportSize = {"width": 1366, "height": 768}
WALL: ViewportSize = {"width": 1920, "height": 1080}
WALL_4K: ViewportSize = {"width": 3840, "height": 2160}
SIZES: dict[str, ViewportSize] = {
    "phone": PHONE,
    "tablet": TABLET,
    "ward-pc": WARD_PC,
    "wall": WALL,
    "wall-4k": WALL_4K,
}

_RUN_AXE = """async ([tags, skip]) => {
  const rules = Object.fromEntries(skip.map((id) => [id, { enabled: false }]));
  const result = await axe.run(document, { runOnly: { type: "tag", values: tags }, rules,
    resultTypes: ["violations"] });
  return result.violations.filter((v) => ["serious", "critical"].includes(v.impact))
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(" "),
                     why: n.failureSummary })) }));
}"""


@functools.cache
def _axe_source() -> str:
    return AXE.read_text()


def axe_violations(page: Page, *, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of WCAG 2.0-2.2 A and AA on the page, but
    for the rules in `skip` (a rule a caller has run on the same page elsewhere)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    found: list[dict[str, Any]] = page.evaluate(_RUN_AXE, [WCAG_22_AA, list(skip)])
    return found


def readable(violations: list[dict[str, Any]]) -> str:
    """Violations as a person reads them: rule, impact, help, then where and why."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            why = " ".join(str(node["why"]).split())
            lines.append(f"    at {node['target']}: {why}")
    return "\n".join(lines)


def sideways(page: Page) -> dict[str, Any] | None:
    """None when the page does not scroll sideways; else its widths and the widest nodes."""
    found: dict[str, Any] | None = page.evaluate(
        """() => {
             const width = document.scrollingElement.scrollWidth;
             if (width <= innerWidth) return null;
             const wide = [...document.querySelectorAll("body *")]
               .filter((n) => n.getBoundingClientRect().right > innerWidth + 1)
               .slice(0, 8).map((n) => `${n.tagName.toLowerCase()}.${n.className}`);
             return { scrollWidth: width, innerWidth, wide };
           }"""
    )
    return found
