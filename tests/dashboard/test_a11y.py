"""axe-core on every page, in English and Spanish, in headless Chromium: no critical or serious
accessibility violation (WCAG 2.1 A/AA rules and axe's best practices)."""

from __future__ import annotations

import pytest


from browser_util import PAGES, axe_script, goto_settled, open_page

pytestmark = pytest.mark.browser

FAILING_IMPACTS = {"critical", "serious"}
# Run axe on the whole document once the page's callbacks have settled.
JS_AXE = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').split('\\n')[1])}));
}"""


def violations(browser, url: str, width: int = 1280) -> list[dict]:
    with open_page(browser, width=width, height=900, bypass_csp=True) as pg:
        goto_settled(pg, url)
        pg.add_script_tag(path=str(axe_script()))
        found = pg.evaluate(JS_AXE)
    return [v for v in found if v["impact"] in FAILING_IMPACTS]


def report(found: list[dict]) -> str:
    return "\n".join(f"[{v['impact']}] {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in found)


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("path", PAGES)
def test_no_serious_accessibility_violations(server, browser, path, lang):
    found = violations(browser, f"{server}{path}?lang={lang}")
    assert found == [], f"{path}?lang={lang}:\n{report(found)}"


@pytest.mark.parametrize("path", ["/maps", "/revisions", "/sources"])
def test_no_serious_accessibility_violations_at_phone_width(server, browser, path):
    found = violations(browser, f"{server}{path}?lang=es", width=390)
    assert found == [], f"{path} at 390 px:\n{report(found)}"
