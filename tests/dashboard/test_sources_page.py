"""The Sources page on the real catalog: what it says about each source's freshness agrees with
the badge every chart's provenance line carries."""

from __future__ import annotations

import sys

import pytest

from dashboard import store
from dashboard.i18n import t
from etl.registry import all_sources


def _walk(node):
    yield node
    children = getattr(node, "children", None)
    for c in children if isinstance(children, (list, tuple)) else [children] if children is not None else []:
        if not isinstance(c, str):
            yield from _walk(c)


def _text(node) -> str:
    if isinstance(node, str):
        return node
    children = getattr(node, "children", None)
    items = children if isinstance(children, (list, tuple)) else [children] if children is not None else []
    return "".join(_text(c) for c in items)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_each_source_carries_the_stale_badge_exactly_when_its_charts_do(dash_app, lang):
    page = sys.modules["dashboard.pages.sources"]
    tree = page.layout(lang=lang)
    blocks = {n.id.removeprefix("source-"): n for n in _walk(tree)
              if isinstance(getattr(n, "id", None), str) and n.id.startswith("source-") and not n.id.endswith("-title")}
    assert set(blocks) == set(all_sources())
    stale = {sid for sid in blocks if store.provenance(sid)["stale"]}
    assert stale and stale != set(blocks)  # the shipped seeds: some sources are stale, some are not
    for sid, block in blocks.items():
        badges = [n for n in _walk(block) if "stale" in (getattr(n, "className", "") or "").split()]
        assert len(badges) == (sid in stale), sid
        if sid in stale:
            assert _text(badges[0]) == t("prov.stale", lang)
            # the build status speaks of the last refresh: it must not call stale data current
            assert {"en": "up to date", "es": "al día"}[lang] not in _text(block), sid


def test_spanish_page_gives_each_source_its_spanish_license_and_caveats(dash_app):
    page = sys.modules["dashboard.pages.sources"]
    text = _text(page.layout(lang="es"))
    for src in all_sources().values():
        assert src.meta.license_es and src.meta.license_es in text, src.id
        if src.meta.caveats:
            assert src.meta.caveats_es, f"{src.id} has caveats but no caveats_es"
            assert src.meta.caveats_es in text and src.meta.caveats not in text, src.id
