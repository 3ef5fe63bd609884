"""Cite this view: the notebook snippet reproduces exactly the view's CSV download."""

import io
import re
from dataclasses import replace

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import cite, i18n, store, views
from dashboard.state import default_state, parse_query, to_query


@pytest.fixture(scope="module")
def DEFAULT(reg):
    return default_state(reg)


def view(name: str, DEFAULT):
    return {
        "default": DEFAULT,
        "arizona-per100k": replace(DEFAULT, transform="per100k").with_panel("deaths", geo="US-AZ")
        .with_panel("homicides", geo="MX-SON", weapon=("firearm",)),
        "index-ofo-events": replace(DEFAULT, transform="index", index_at="security-dialogue").with_panel(
            "seizures", drug=("fentanyl", "methamphetamine"), measure=("events",), component=("ofo",)),
        "zoomed-opt-in": replace(DEFAULT, panels=("deaths", "lab_reports", "incidence"), x0="2019-01-01",
                                 x1="2021-06-01"),
    }[name]


def plain(title: str) -> str:
    """A title as read: the figure puts the geography on a second, smaller line."""
    return " ".join(re.sub(r"<[^>]+>", " ", title.replace(" — ", " ")).split())


def _csv_download(home, reg, state) -> pd.DataFrame:
    """The page's download: control values -> the callback's parsing -> views.export."""
    values = home.control_values(state)
    facet_ids = [{"type": "facet", "panel": p.key, "facet": f.key} for p in reg.ordered() for f in p.facets]
    geo_ids = [{"type": "geo", "panel": p.key} for p in reg.ordered()]
    compare_ids = [{"type": "compare", "panel": k[1]} for k in values if k[0] == "compare"]
    query = home.controls_query([values[("facet", i["panel"], i["facet"])] for i in facet_ids], facet_ids,
                                [values[("geo", i["panel"])] for i in geo_ids], geo_ids,
                                {c: values[c] for c in home.GLOBAL_CONTROLS},
                                {"x0": state.x0, "x1": state.x1}, state.lang,
                                [values[("compare", i["panel"])] for i in compare_ids], compare_ids)
    parsed = home.parse(query)
    assert parsed.notices == [] and parsed.state == state
    content, filename = views.export(parsed.state, "csv")
    assert filename.endswith(".csv") and state.panel("deaths").geo in filename
    return pd.read_csv(io.BytesIO(content))


@pytest.mark.parametrize("name", ["default", "arizona-per100k", "index-ofo-events", "zoomed-opt-in"])
def test_snippet_yields_the_rows_of_the_csv_download(name, DEFAULT, reg, home, monkeypatch):
    state = view(name, DEFAULT)
    shown = []
    monkeypatch.setattr(go.Figure, "show", lambda self, *a, **k: shown.append(self))
    namespace: dict = {}
    exec(cite.snippet(to_query(state, reg)), namespace)  # the text the page shows, run as a user would
    from_snippet = namespace["df"].reset_index(drop=True)
    downloaded = _csv_download(home, reg, state)
    assert len(from_snippet) == len(downloaded) > 100
    assert list(from_snippet.columns) == list(downloaded.columns)
    pd.testing.assert_series_equal(from_snippet["value"].astype(float), downloaded["value"].astype(float),
                                   check_names=False, rtol=1e-9)
    assert (from_snippet["series_id"] == downloaded["series_id"]).all()
    assert list(from_snippet["date"]) == list(downloaded["date"])
    assert len(shown) == len(state.panels)  # one figure per panel shown
    assert [plain(f.layout.title.text) for f in shown] == [plain(p.title) for p in views.build_panels(state, reg)]
    if state.x0:
        assert from_snippet["date"].min() >= state.x0 and from_snippet["date"].max() <= state.x1
        assert set(from_snippet["panel"]) == set(state.panels)


def test_citation_names_publishers_version_and_permalink(DEFAULT, reg, valid_geos, milestone_ids):
    state = DEFAULT.with_panel("deaths", geo="US-TX")
    panels = views.build_panels(state, reg)
    c = cite.citation(state, panels, "http://example.test")
    assert c["permalink"] == "http://example.test/?us_geo=US-TX"
    assert c["version"] == store.data_version([sid for p in panels for sid in p.sources])
    assert "CBP" in c["text"] and "SESNSP" in c["text"] and c["version"] in c["text"]
    assert c["snapshots"] == {sid: store.provenance(sid)["snapshot"] for sid in {s for p in panels for s in p.sources}}
    parsed = parse_query(c["permalink"].split("/", 3)[3], reg, valid_geos, milestone_ids)
    assert parsed.notices == [] and parsed.state == state


def test_citation_in_spanish_and_of_a_zoomed_view(DEFAULT, reg, valid_geos, milestone_ids):
    state = replace(DEFAULT, lang="es", x0="2019-01-01", x1="2021-06-01")
    c = cite.citation(state, views.build_panels(state, reg), "http://example.test")
    assert c["permalink"] == "http://example.test/?lang=es&x0=2019-01-01&x1=2021-06-01"
    assert c["text"].startswith(i18n.catalog("es")["cite.text"].split("{")[0])
    assert f"versión de datos {c['version']}" in c["text"]
    assert parse_query(c["permalink"].split("/", 3)[3], reg, valid_geos, milestone_ids).state == state


def test_snippet_refuses_a_bad_query():
    with pytest.raises(ValueError, match="us_geo"):
        cite.view_data("?us_geo=XX")
    with pytest.raises(ValueError, match="bogus"):
        cite.view_data("?bogus=1")


def test_snippet_speaks_the_readers_language_and_still_runs(DEFAULT, reg, monkeypatch):
    es = cite.snippet(to_query(replace(DEFAULT, lang="es"), reg), "es")
    assert "# las filas de la descarga CSV de esta vista" in es and "CSV download" not in es
    monkeypatch.setattr(go.Figure, "show", lambda self, *a, **k: None)
    namespace: dict = {}
    exec(es, namespace)
    assert len(namespace["df"]) > 100


def test_a_publisher_behind_several_charts_is_cited_once(DEFAULT, reg):
    """With every chart shown, SESNSP was named once per source (homicides, crime incidence) in a row."""
    state = replace(DEFAULT, panels=tuple(reg.panels))
    c = cite.citation(state, views.build_panels(state, reg), "http://example.test")
    publishers = c["text"].split("Data: ", 1)[1].rsplit(". http", 1)[0].split("; ")
    assert len(publishers) == len(set(publishers))
    # homicides and incidence share one publisher line; federal cases also name the FGR
    assert publishers.count(store.publisher("sesnsp_homicide", "en")) == 1
