"""Links keep working: every URL that opened a view before the timeline was generated from the
panel registry opens the same view now.

The table below is written from the semantics of the code before the registry (commit c9f8c3c,
dashboard/state.py, views.py, pages/home.py), URL by URL: which series each of the three panels
drew, in which geography, with which transform and rolling window, which milestone was
highlighted and in which language. Old permalinks came from the old ``to_query``, which
percent-encoded commas (``drugs=heroin%2Ccocaine``); hand-typed links used plain commas. A
series the old code asked for but found no rows for (heroin in Arizona: CDC publishes drug
classes other than all drugs and T40.4 for the US only) was left out of the chart with a note,
so it is not in the expected list either.

The other pages' old parameters (``/impact``, ``/revisions``, ``/maps``, ``/sources``) are checked
with the pages' current parsers: accepted without a notice, parsed to the same values.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import pandas as pd
import plotly.utils
import pytest

from dashboard import store, views
from dashboard.figures import HIGHLIGHT_COLOR
from dashboard.i18n import t
from dashboard.registry import registry
from dashboard.state import to_query

OLD_PANELS = ("deaths", "homicides", "seizures")
OLD_GEO_PARAMS = {"deaths": "us_geo", "homicides": "mx_geo", "seizures": "cbp_geo"}
OLD_GEO_KINDS = {"deaths": "us", "homicides": "mx", "seizures": "cbp"}
OLD_CATEGORIES = ("agreement", "dialogue", "enforcement", "law", "policy", "report", "violence")

# What the old default view drew (state.DEFAULT at c9f8c3c).
VSRR = "cdc_vsrr_overdose."
DEATHS = (VSRR + "all_drugs", VSRR + "synthetic_opioids")
SESNSP, INEGI = "sesnsp_homicide.homicidio_doloso", "inegi_homicide.homicides"
FIREARM = "sesnsp_homicide.homicidio_doloso_firearm"
HOMICIDES = (SESNSP, INEGI)
SEIZURES = ("cbp_seizures.fentanyl_lbs",)
GEOS = {"deaths": "US", "homicides": "MX", "seizures": "CBP-SWB"}


@dataclass(frozen=True)
class Old:
    """One old link and what it showed. Series tuples are in the old drawing order."""

    url: str
    deaths: tuple[str, ...] = DEATHS
    homicides: tuple[str, ...] = HOMICIDES
    seizures: tuple[str, ...] = SEIZURES
    geos: dict = field(default_factory=dict)   # panel -> geography, when not the default
    transform: str = "counts"                  # what the deaths and homicides lines are
    rolling: int = 0
    hl: str = ""
    lang: str = "en"
    cats: tuple[str, ...] = OLD_CATEGORIES
    start: str = "2015-01-01"
    end: str = ""
    notices: int = 0                           # bad parameters the old page also reported

    def geo(self, panel: str) -> str:
        return self.geos.get(panel, GEOS[panel])

    def series(self, panel: str) -> tuple[str, ...]:
        return getattr(self, panel)


def vsrr(*names: str) -> tuple[str, ...]:
    return tuple(VSRR + n for n in names)


def cbp(*names: str) -> tuple[str, ...]:
    return tuple("cbp_seizures." + n for n in names)


OLD_LINKS = [
    Old(""),
    # The example in the old README: AZ has only all drugs and T40.4 by state, so no heroin or
    # cocaine line (old: "No data for Heroin (T40.1) in Arizona."); seizures have no population.
    Old("?us_geo=US-AZ&drugs=heroin%2Ccocaine&predicted=1&transform=per100k", deaths=(),
        geos={"deaths": "US-AZ"}, transform="per 100k"),
    Old("?drugs=heroin&predicted=1", deaths=vsrr("heroin", "heroin_predicted")),
    Old("?seize=cocaine&measure=events&component=ofo", seizures=cbp("cocaine_events_ofo")),
    # The firearm line needed SESNSP among the sources: INEGI alone drew INEGI alone.
    Old("?mx_sources=inegi&firearm=1", homicides=(INEGI,)),
    Old("?mx_sources=sesnsp&firearm=1", homicides=(SESNSP, FIREARM)),
    Old("?firearm=1", homicides=(SESNSP, INEGI, FIREARM)),
    Old("?mx_sources=inegi%2Csesnsp", homicides=(INEGI, SESNSP)),
    Old("?us_geo=US-TX&transform=per100k", geos={"deaths": "US-TX"}, transform="per 100k"),
    Old("?us_geo=US-NYC&predicted=1", deaths=vsrr("all_drugs", "all_drugs_predicted", "synthetic_opioids",
                                                  "synthetic_opioids_predicted"), geos={"deaths": "US-NYC"}),
    Old("?mx_geo=MX-CHH&transform=per100k", geos={"homicides": "MX-CHH"}, transform="per 100k"),
    Old("?mx_geo=MX-GUA&rolling=12", geos={"homicides": "MX-GUA"}, rolling=12),
    Old("?cbp_geo=US", geos={"seizures": "US"}),
    Old("?cbp_geo=CBP-NB&seize=methamphetamine%2Cfentanyl", seizures=cbp("methamphetamine_lbs", "fentanyl_lbs"),
        geos={"seizures": "CBP-NB"}),
    Old("?cbp_geo=CBP-FO-SAN-DIEGO&component=ofo", seizures=cbp("fentanyl_lbs_ofo"),
        geos={"seizures": "CBP-FO-SAN-DIEGO"}),
    Old("?cbp_geo=CBP-SEC-TUCSON&seize=fentanyl%2Cmarijuana&component=usbp&measure=events",
        seizures=cbp("fentanyl_events_usbp", "marijuana_events_usbp"), geos={"seizures": "CBP-SEC-TUCSON"}),
    Old("?cbp_geo=CBP-FO-LAREDO", geos={"seizures": "CBP-FO-LAREDO"}),
    Old("?transform=index&index_at=security-dialogue", transform="index"),
    Old("?transform=index&index_at=2019-06-01", transform="index"),
    Old("?transform=yoy", transform="year-over-year %"),
    Old("?rolling=3", rolling=3),
    Old("?rolling=6&transform=per100k", rolling=6, transform="per 100k"),
    Old("?log=1"),
    Old("?changepoints=1"),
    Old("?cats=agreement%2Cdialogue&hl=security-dialogue", cats=("agreement", "dialogue"), hl="security-dialogue"),
    Old("?cats=", cats=()),
    Old("?hl=cienfuegos-arrest", hl="cienfuegos-arrest"),
    Old("?lang=es", lang="es"),
    Old("?mx_geo=MX-SIN&hl=foreign-agents-law&lang=es", geos={"homicides": "MX-SIN"}, hl="foreign-agents-law",
        lang="es"),
    Old("?start=2018-01-01&end=2022-12-01", start="2018-01-01", end="2022-12-01"),
    # End before start: the old page dropped the end, with a notice.
    Old("?start=2019-01-01&end=2017-01-01", start="2019-01-01", notices=1),
    Old("?drugs=all_opioids%2Cnatural_semisynthetic_opioids%2Cmethadone%2Cpsychostimulants&predicted=1",
        deaths=vsrr("all_opioids", "all_opioids_predicted", "natural_semisynthetic_opioids",
                    "natural_semisynthetic_opioids_predicted", "methadone", "methadone_predicted",
                    "psychostimulants", "psychostimulants_predicted")),
    Old("?seize=marijuana%2Cother%2Cheroin&component=usbp", seizures=cbp("marijuana_lbs_usbp", "other_lbs_usbp",
                                                                         "heroin_lbs_usbp")),
    Old("?seize=fentanyl&measure=events", seizures=cbp("fentanyl_events")),
    Old("?drugs=cocaine,heroin", deaths=vsrr("cocaine", "heroin")),
    Old("?predicted=true&firearm=yes&log=on",
        deaths=vsrr("all_drugs", "all_drugs_predicted", "synthetic_opioids", "synthetic_opioids_predicted"),
        homicides=(SESNSP, INEGI, FIREARM)),
    # One unknown drug class: the old page fell back to the default classes, with a notice.
    Old("?drugs=heroin%2Cbogus", notices=1),
    Old("?us_geo=US-XX", notices=1),
    # A repeated parameter: the last one won.
    Old("?us_geo=US-AZ&us_geo=US-NM", geos={"deaths": "US-NM"}),
    Old("?us_geo=US-CA&mx_geo=MX-BCN&cbp_geo=CBP-SEC-SAN-DIEGO&drugs=synthetic_opioids&predicted=1"
        "&mx_sources=sesnsp&firearm=1&seize=fentanyl%2Cmethamphetamine&component=usbp&start=2019-01-01"
        "&end=2023-12-01&rolling=3&hl=security-dialogue&lang=es",
        deaths=vsrr("synthetic_opioids", "synthetic_opioids_predicted"), homicides=(SESNSP, FIREARM),
        seizures=cbp("fentanyl_lbs_usbp", "methamphetamine_lbs_usbp"),
        geos={"deaths": "US-CA", "homicides": "MX-BCN", "seizures": "CBP-SEC-SAN-DIEGO"},
        start="2019-01-01", end="2023-12-01", rolling=3, hl="security-dialogue", lang="es"),
    Old("?us_geo=US-NY&drugs=synthetic_opioids&transform=per100k&rolling=12", deaths=vsrr("synthetic_opioids"),
        geos={"deaths": "US-NY"}, transform="per 100k", rolling=12),
    Old("?drugs=heroin,cocaine&transform=index&index_at=cienfuegos-arrest&log=1", deaths=vsrr("heroin", "cocaine"),
        transform="index"),
    Old("?start=2010-01-01", start="2010-01-01"),
    Old("?transform=per100k", transform="per 100k"),
]
IDS = [o.url or "(bare)" for o in OLD_LINKS]


@pytest.fixture(scope="module")
def home(dash_app):
    return sys.modules["dashboard.pages.home"]


def _parsed(home, url: str):
    return home.parse_url(url)


def _primary_order(series: tuple[str, ...] | list[str], panel: str) -> list[str]:
    """The order the reader picked the primary facet's values in (the old drawing order)."""
    spec = registry().panels[panel]
    seen = []
    for sid in series:
        value = registry().series[sid].facet(spec.primary.key)
        if value not in seen:
            seen.append(value)
    return seen


@pytest.mark.parametrize("old", OLD_LINKS, ids=IDS)
def test_old_link_opens_the_same_panels_series_and_geographies(home, old):
    parsed = _parsed(home, old.url)
    assert len(parsed.notices) == old.notices, parsed.notices
    assert parsed.state.panels == OLD_PANELS
    panels = {p.key: p for p in views.build_panels(parsed.state)}
    assert tuple(panels) == OLD_PANELS
    for key in OLD_PANELS:
        drawn = [s.series_id for s in panels[key].shown]
        assert sorted(drawn) == sorted(old.series(key)), f"{key}: {drawn}"
        assert _primary_order(drawn, key) == _primary_order(old.series(key), key), f"{key}: {drawn}"
        assert panels[key].geo == old.geo(key)
        assert {s.geo for s in panels[key].shown} <= {old.geo(key)}
        if key == "seizures" and old.transform == "per 100k":
            continue  # test_old_per100k_links_keep_seizures_in_pounds_and_events
        for s in panels[key].shown:  # a line is drawn, not an empty trace
            assert s.frame["value"].notna().any(), f"{s.series_id} in {s.geo}: nothing drawn"


@pytest.mark.parametrize("old", OLD_LINKS, ids=IDS)
def test_old_link_keeps_transform_rolling_window_and_dates(home, old):
    """The old pipeline smoothed monthly series only: CDC's 12-month-ending sums were left
    unsmoothed ("Already a 12-month sum"), annual series too."""
    s = _parsed(home, old.url).state
    assert (s.transform, s.rolling, s.start, s.end) == (_TRANSFORM_PARAM[old.transform], old.rolling, old.start,
                                                        old.end)
    for panel in views.build_panels(s):
        if panel.key == "seizures":
            continue  # seizures were never a rate: test_old_per100k_links_keep_seizures_in_pounds_and_events
        for shown in panel.shown:
            smoothed = bool(old.rolling) and shown.frequency == "monthly"
            assert ("unsmoothed" in shown.frame) == smoothed, shown.series_id
            assert shown.transform == old.transform + (f", {old.rolling}-month mean" if smoothed else ""), \
                shown.series_id
            assert shown.frame["date"].min() >= pd.Timestamp(old.start)
            if old.end:
                assert shown.frame["date"].max() <= pd.Timestamp(old.end)


_TRANSFORM_PARAM = {"counts": "counts", "per 100k": "per100k", "index": "index", "year-over-year %": "yoy"}


PER100K = [o for o in OLD_LINKS if "transform=per100k" in o.url]


@pytest.mark.parametrize("old", PER100K, ids=[o.url for o in PER100K])
def test_old_per100k_links_keep_seizures_in_pounds_and_events(home, old):
    """Old views.seizures_panel added every series with ``allow_rate=False``: under
    ``transform=per100k`` the seizures chart kept drawing pounds (or events), with the note
    "Per 100k is not meaningful for Fentanyl: counts shown." A CBP region has no population, so
    a per-100k seizure line is an empty chart."""
    s = _parsed(home, old.url).state
    seizures = next(p for p in views.build_panels(s) if p.key == "seizures")
    rolled = f", {old.rolling}-month mean" if old.rolling else ""  # CBP series are monthly: smoothed
    assert [x.series_id for x in seizures.shown] == list(old.seizures)
    for shown in seizures.shown:
        assert shown.transform == "counts" + rolled
        assert shown.frame["value"].notna().any(), f"{shown.series_id}: the chart is empty"


@pytest.mark.parametrize("old", OLD_LINKS, ids=IDS)
def test_old_link_keeps_highlight_categories_and_language(home, old):
    s = _parsed(home, old.url).state
    assert (s.hl, s.lang, tuple(s.cats)) == (old.hl, old.lang, old.cats)
    if not old.hl:
        return
    ms = store.milestones().set_index("id")
    when = pd.Timestamp(ms.loc[old.hl, "date"])
    panels = views.build_panels(s)
    x_range = views.x_range(s, panels)
    for panel in panels:
        fig, _notes = views.panel_figure(panel, s, x_range)
        marked = [pd.Timestamp(sh["x0"]) for sh in fig["layout"]["shapes"] if sh["line"]["color"] == HIGHLIGHT_COLOR]
        assert marked == [when], f"{panel.key}: highlighted {marked}"


@pytest.mark.parametrize("old", OLD_LINKS, ids=IDS)
def test_canonical_query_of_an_old_link_round_trips(home, old):
    state = _parsed(home, old.url).state
    query = to_query(state, registry())
    again = _parsed(home, query)
    assert again.notices == []
    assert again.state == state
    # The canonical form is stable: writing it again gives the same string.
    assert to_query(again.state, registry()) == query


@pytest.mark.parametrize("panel", OLD_PANELS)
def test_every_geography_an_old_link_could_name_still_opens(home, panel):
    """The old parser accepted every geography of store.valid_geos() (US states and NYC, Mexican
    states, CBP regions and areas)."""
    for geo in sorted(store.valid_geos()[OLD_GEO_KINDS[panel]]):
        parsed = _parsed(home, f"?{OLD_GEO_PARAMS[panel]}={geo}")
        assert parsed.notices == [], geo
        assert parsed.state.panel(panel).geo == geo


# One valid value of every parameter name the old timeline read (state.parsers at c9f8c3c).
OLD_PARAMS = {
    "us_geo": "US-AZ", "mx_geo": "MX-CHH", "cbp_geo": "CBP-NB", "drugs": "heroin", "predicted": "1",
    "mx_sources": "inegi", "firearm": "1", "seize": "cocaine", "measure": "events", "component": "ofo",
    "start": "2016-01-01", "end": "2020-01-01", "transform": "yoy", "index_at": "security-dialogue",
    "rolling": "6", "log": "1", "cats": "law", "hl": "cienfuegos-arrest", "changepoints": "1", "lang": "es",
}


@pytest.mark.parametrize("name", OLD_PARAMS)
def test_every_old_parameter_name_is_still_read(home, name):
    parsed = _parsed(home, f"?{name}={OLD_PARAMS[name]}")
    assert parsed.notices == []
    assert parsed.state != _parsed(home, "").state, f"{name} was accepted but changed nothing"


# --- lang=es on an old link --------------------------------------------------------------------

ES_LINK = "?us_geo=US-AZ&drugs=heroin%2Ccocaine&predicted=1&transform=per100k&lang=es"


def _json(component) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)


def test_lang_es_on_an_old_link_gives_the_spanish_timeline(home):
    query = dict(parse_qsl(ES_LINK.lstrip("?")))
    page = home.layout(**query)
    texts = [c.children for c in _walk(page) if isinstance(getattr(c, "children", None), str)]
    assert t("timeline.h1", "es") in texts and t("timeline.h1", "en") not in texts
    assert t("timeline.h1", "es") != t("timeline.h1", "en")
    regions = {c.id["panel"]: getattr(c, "aria-label") for c in _walk(page)
               if isinstance(getattr(c, "id", None), dict) and c.id.get("type") == "panel-box"}
    assert regions["deaths"] == "Muertes por sobredosis de drogas en EE. UU. — Arizona"
    assert regions["homicides"].startswith("Homicidios en México")
    s = home.parse_url(ES_LINK).state
    assert s.lang == "es" and s.panel("deaths").geo == "US-AZ"


def test_lang_es_on_an_old_link_serves_a_spanish_document(dash_app):
    client = dash_app.server.test_client()
    page = client.get("/" + ES_LINK, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert page.status_code == 200
    assert '<html lang="es">' in page.get_data(as_text=True)


def _layout_from(client, page_url: str) -> dict:
    """The page chrome as Dash's renderer fetches it: GET /_dash-layout, without the page's query
    string; the browser sends the page's URL as the Referer."""
    resp = client.get("/_dash-layout", headers={"Referer": "http://127.0.0.1:8050" + page_url,
                                                "Accept-Language": "en-US,en;q=0.9"})
    assert resp.status_code == 200
    return json.loads(resp.get_data(as_text=True))


def _find(node, pred):
    if isinstance(node, dict):
        if pred(node):
            yield node
        for v in node.values():
            yield from _find(v, pred)
    elif isinstance(node, list):
        for v in node:
            yield from _find(v, pred)


def test_lang_es_on_an_old_link_gives_the_spanish_header_and_a_working_language_switch(dash_app):
    """The header, navigation and footer around the page are in the link's language, and the
    language switch reopens the same view in English (not Dash's JSON layout endpoint)."""
    layout = _layout_from(dash_app.server.test_client(), "/" + ES_LINK)
    nav = [n["props"]["children"] for n in _find(layout, lambda n: n.get("props", {}).get("className") == "nav-link")]
    assert nav and nav[0] == t("nav.timeline", "es"), nav
    switch = next(_find(layout, lambda n: n.get("props", {}).get("id") == "lang-switch"))["props"]
    href = switch["href"]
    assert href.startswith("/?"), href
    assert dict(parse_qsl(href.split("?", 1)[1])) == {**dict(parse_qsl(ES_LINK.lstrip("?"))), "lang": "en"}


# --- the other pages ---------------------------------------------------------------------------

# /impact at c9f8c3c: short series keys (impact.SERIES) and the series id each one analysed.
OLD_IMPACT_SERIES = {
    "sesnsp": "sesnsp_homicide.homicidio_doloso", "sesnsp_firearm": "sesnsp_homicide.homicidio_doloso_firearm",
    "inegi": "inegi_homicide.homicides", "fentanyl_lbs": "cbp_seizures.fentanyl_lbs",
    "fentanyl_events": "cbp_seizures.fentanyl_events", "meth_lbs": "cbp_seizures.methamphetamine_lbs",
    "cocaine_lbs": "cbp_seizures.cocaine_lbs", "od_all": "cdc_vsrr_overdose.all_drugs",
    "od_synthetic": "cdc_vsrr_overdose.synthetic_opioids",
}
# Permalinks as the old update_impact wrote them (series, geo, milestone, window, gap, x, y).
OLD_IMPACT_LINKS = [
    "",
    "?series=fentanyl_lbs&geo=CBP-SWB&milestone=security-dialogue&window=12&gap=0&x=fentanyl_lbs&y=od_synthetic",
    "?series=sesnsp&geo=MX-CHH&milestone=cienfuegos-arrest&window=24&gap=3&x=fentanyl_lbs&y=od_synthetic",
    "?series=sesnsp_firearm&geo=MX&milestone=merida-declared-dead&window=36&gap=6&x=sesnsp&y=inegi",
    "?series=inegi&geo=MX-GUA&milestone=foreign-agents-law&window=6&gap=1&x=inegi&y=sesnsp",
    "?series=od_all&geo=US-AZ&milestone=security-dialogue&window=12&gap=0&x=od_all&y=fentanyl_events",
    "?series=od_synthetic&geo=US&milestone=trump-terrorist-designation&window=24&gap=0&x=meth_lbs&y=cocaine_lbs",
    "?series=fentanyl_events&geo=CBP-SEC-TUCSON&milestone=dea-fentanyl-surge&window=12&gap=0",
    "?series=meth_lbs&geo=CBP-FO-SAN-DIEGO&milestone=bicentennial-action-plan",
    "?series=cocaine_lbs&geo=US&milestone=harris-visit&window=6",
]


@pytest.mark.parametrize("url", OLD_IMPACT_LINKS, ids=[u or "(bare)" for u in OLD_IMPACT_LINKS])
def test_old_impact_links_are_accepted_with_the_same_values(dash_app, url):
    page = sys.modules["dashboard.pages.impact"]
    query = dict(parse_qsl(url.lstrip("?")))
    sel, notes = page.parse(query)
    assert notes == []
    for key, value in query.items():
        want = OLD_IMPACT_SERIES[value] if key in ("series", "x", "y") else value
        assert sel[key] == want, key


OLD_REVISIONS_LINKS = [
    "",
    "?series=all_drugs&geo=US&as_of=2026-06-27",
    "?series=synthetic_opioids&geo=US-AZ&as_of=2019-04-24",
    "?series=heroin&geo=US&as_of=2017-12-16",
    "?series=all_drugs&geo=US-NYC&as_of=2019-06-30",
    "?series=psychostimulants&geo=US&as_of=2020-01-01",
    "?series=all_opioids&geo=US-TX&as_of=2018-03-01",
]


@pytest.mark.parametrize("url", OLD_REVISIONS_LINKS, ids=[u or "(bare)" for u in OLD_REVISIONS_LINKS])
def test_old_revisions_links_are_accepted_with_the_same_values(dash_app, url):
    page = sys.modules["dashboard.pages.revisions"]
    query = dict(parse_qsl(url.lstrip("?")))
    sel, notes = page.parse(query)
    assert notes == []
    assert {k: sel[k] for k in query} == query


def _old_map_years() -> list[int]:
    """The years the old maps page offered: December present in CDC's US all-drugs series."""
    dates = store.series("cdc_vsrr_overdose.all_drugs", "US")["date"]
    return sorted(int(y) for y in dates[dates.dt.month == 12].dt.year.unique())


OLD_MAPS_LINKS = ["?year=2020", "?year=2019&us_drug=synthetic_opioids", "?mx_source=sesnsp",
                  "?year=2021&us_drug=all_drugs&mx_source=inegi", "?year=2018&us_drug=synthetic_opioids&mx_source=sesnsp"]


@pytest.mark.parametrize("url", OLD_MAPS_LINKS)
def test_old_maps_links_are_accepted_with_the_same_values(dash_app, url):
    page = sys.modules["dashboard.pages.maps"]
    query = dict(parse_qsl(url.lstrip("?")))
    sel, notes = page.parse(query)
    assert notes == []
    assert {k: str(sel[k]) for k in query} == query


def test_every_year_the_old_maps_page_offered_still_opens(dash_app):
    page = sys.modules["dashboard.pages.maps"]
    years = _old_map_years()
    assert 2020 in years  # the old default
    for year in years:
        sel, notes = page.parse({"year": str(year)})
        assert (notes, sel["year"]) == ([], year)


@pytest.mark.parametrize("url", ["", "?lang=en", "?lang=es", "?utm_source=newsletter"])
def test_sources_page_opens_old_links_without_a_notice(dash_app, url):
    """The old sources page ignored every parameter; it still does: the page is the one a link
    without parameters opens (in the link's language), so nothing was reported."""
    page = sys.modules["dashboard.pages.sources"]
    query = dict(parse_qsl(url.lstrip("?")))
    lang = {"lang": query["lang"]} if "lang" in query else {}
    tree = page.layout(**query)
    assert _json(tree) == _json(page.layout(**lang))
    assert any(isinstance(getattr(c, "id", None), str) and c.id.startswith("source-") for c in _walk(tree))
