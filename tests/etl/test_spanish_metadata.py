"""Every source's metadata has its Spanish texts, so the Spanish Sources page never falls back to English."""

from __future__ import annotations

import pytest

from etl.registry import all_sources

SOURCES = sorted(all_sources().values(), key=lambda src: src.id)

# Phrases of the English definitions and caveats that a Spanish text would only hold if a line was left
# untranslated (quoted names of the publisher's own indicators, such as CDC's 'Number of Drug Overdose
# Deaths', are kept in English, so these avoid them).
ENGLISH_ONLY = (" in the month", "deaths of", "Deaths of", "seized", "Dated ", " opened in ", "the sum of",
                " by state", " per 100,000")


def spanish_texts(meta):
    """(where, text) for every ``*_es`` field of the source and its series."""
    yield from ((f"{meta.id}.{f}", getattr(meta, f)) for f in ("publisher_es", "title_es", "caveats_es", "license_es"))
    for s in meta.series:
        yield from ((f"{s.id}.{f}", getattr(s, f)) for f in ("title_es", "definition_es", "caveats_es"))


@pytest.mark.parametrize("src", SOURCES, ids=[src.id for src in SOURCES])
def test_source_has_its_spanish_texts(src):
    meta = src.meta
    assert meta.publisher_es.strip(), f"{meta.id}: no publisher_es"
    for s in meta.series:
        assert s.definition_es.strip(), f"{s.id}: no definition_es"
        assert s.definition_es != s.definition, f"{s.id}: definition_es is the English definition"
        if s.caveats:
            assert s.caveats_es.strip(), f"{s.id}: caveats but no caveats_es"
            assert s.caveats_es != s.caveats, f"{s.id}: caveats_es is the English caveats"
        # Spanish runs longer than English: a much shorter definition has dropped a sentence
        # (older ones left out "US is the sum of every row of the export" and the like).
        assert len(s.definition_es) >= 0.85 * len(s.definition), f"{s.id}: definition_es drops part of the definition"
    for where, text in spanish_texts(meta):
        english = [p for p in ENGLISH_ONLY if p in text]
        assert not english, f"{where} reads as English: {english}"
