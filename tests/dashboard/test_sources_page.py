"""The Sources page on the real catalog: what it says about each source's freshness agrees with
the badge every chart's provenance line carries."""

from __future__ import annotations

import sys

import pytest

from dashboard import components, store
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


def _blocks(tree) -> dict:
    return {n.id.removeprefix("source-"): n for n in _walk(tree)
            if isinstance(getattr(n, "id", None), str) and n.id.startswith("source-") and not n.id.endswith("-title")}


def _stale_badges(node) -> list:
    return [n for n in _walk(node) if "stale" in (getattr(n, "className", "") or "").split()]


@pytest.mark.parametrize("lang, words", [
    ("en", ("marked stale", "1.5 times", "46 days for a source updated monthly", "549 days for a source updated once a year",
            "at irregular dates is never marked stale", "last good ones")),
    ("es", ("lleva la marca “desactualizado”", "1.5 veces", "46 días para una fuente que se actualiza cada mes",
            "549 días para una fuente que se actualiza una vez al año", "en fechas irregulares nunca lleva esa marca",
            "últimas válidas")),
])
def test_the_page_says_what_stale_means_before_the_first_source(dash_app, lang, words):
    """Most sources carry the badge: the page says what it means, with the age limit of each
    release interval the sources use, above the sources."""
    page = sys.modules["dashboard.pages.sources"]
    tree = page.layout(lang=lang)
    legend = next(n for n in _walk(tree) if getattr(n, "id", None) == "stale-legend")
    assert tree.children.index(legend) < min(tree.children.index(b) for b in _blocks(tree).values())
    text = _text(legend)
    for w in words:
        assert w in text, (w, text)
    assert [_text(b) for b in _stale_badges(legend)] == [t("prov.stale", lang)]  # the badge it explains


def test_the_age_limits_the_page_states_are_the_rule_the_badge_follows(dash_app):
    """stale_after(cadence) in whole days (etl.metadata) is the rule store.provenance applies."""
    from datetime import datetime, timedelta, timezone

    page = sys.modules["dashboard.pages.sources"]
    src = all_sources()["cdc_vsrr_overdose"]  # monthly
    limit = page.stale_after(src.meta.cadence_days)
    assert limit == 46
    as_of = datetime.fromisoformat(store.provenance(src.id)["snapshot"][:10]).replace(tzinfo=timezone.utc)
    assert not store.provenance(src.id, now=as_of + timedelta(days=limit))["stale"]
    assert store.provenance(src.id, now=as_of + timedelta(days=limit + 1))["stale"]
    assert page.stale_after(None) is None


@pytest.mark.parametrize("lang", ["en", "es"])
def test_each_stale_badge_gives_its_sources_reason_as_tooltip_and_in_text(dash_app, lang):
    """The badge's tooltip and the words beside it name the snapshot's date, its age and the limit
    for that source's release interval."""
    from dashboard.i18n import day, number

    page = sys.modules["dashboard.pages.sources"]
    blocks = _blocks(page.layout(lang=lang))
    stale = [sid for sid in blocks if store.provenance(sid)["stale"]]
    assert stale
    for sid in stale:
        p, src = store.provenance(sid), all_sources()[sid]
        limit = page.stale_after(src.meta.cadence_days)
        facts = (day(p["snapshot"][:10], lang), f"{number(p['age_days'], lang)} ",
                 f"{number(limit, lang)} ", t(f"sources.cadence.{src.meta.cadence}", lang))
        (badge,) = _stale_badges(blocks[sid])
        line = next(n for n in _walk(blocks[sid]) if isinstance(getattr(n, "children", None), list)
                    and badge in n.children)
        for fact in facts:
            assert fact in badge.title, (sid, fact, badge.title)
            assert fact in _text(line), (sid, fact, _text(line))  # read out, not only hovered
        # the badge under a chart says the same (it said "refresh with python -m etl run")
        assert components.stale_badge(p, lang).title == badge.title


@pytest.mark.parametrize("lang, offline, old", [
    ("en", "rebuilt offline from the snapshot already on disk", "last refresh succeeded"),
    ("es", "se reconstruyó sin conexión a partir de la copia que ya estaba en disco",
     "la última actualización se completó"),
])
def test_the_refresh_line_says_what_the_last_run_did_not_that_the_data_are_current(dash_app, lang, offline, old):
    """The shipped catalog was built offline from the bundled seeds: the page says so instead of
    "the last refresh completed" beside a stale badge."""
    page = sys.modules["dashboard.pages.sources"]
    blocks = _blocks(page.layout(lang=lang))
    attempts = store.catalog()["attempts"]
    for sid, block in blocks.items():
        text = _text(block)
        assert old not in text, sid
        if attempts.get(sid, {}).get("mode") == "offline" and attempts[sid].get("status") == "ok":
            assert offline in text, sid
    assert any(a.get("mode") == "offline" for a in attempts.values())  # the shipped data
