"""ViewState -> panels, on the real built data (read through the ETL read API via dashboard.store).

Every panel comes from the registry (the sources' TOML), so labels, titles and notes are compared
with the TOML and the catalog, never with strings copied into the test where a source of truth
exists."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace

import pandas as pd
import pytest
from dash._callback import GLOBAL_CALLBACK_MAP
from dash._callback_context import context_value
from dash._utils import AttributeDict

from dashboard import figures, i18n, store, views
from dashboard.i18n import t
from dashboard.registry import label
from dashboard.state import default_state
from etl import vocabulary


@pytest.fixture(scope="module")
def DEFAULT(reg):
    return default_state(reg)


@pytest.fixture(scope="module")
def default_panels(DEFAULT):
    return views.build_panels(DEFAULT)


def plain(title: str) -> str:
    """A title as read: the figure puts the geography on a second, smaller line."""
    return " ".join(re.sub(r"<[^>]+>", " ", title.replace(" — ", " ")).split())


def panel(reg, state, key):
    return views.build_panel(reg.panels[key], state)


def series_label(reg, sid, lang="en"):
    return label(reg.series[sid], lang)


# --- the default view -------------------------------------------------------------------------


def test_deaths_panel_us_default_has_two_real_lines(default_panels, reg, DEFAULT):
    deaths = default_panels[0]
    assert deaths.key == "deaths"
    drug = reg.panels["deaths"].facet("drug")
    # labels come from the TOML: the drug facet's value labels
    assert [line.name for line in deaths.lines] == [drug.value("all_drugs").label,
                                                   drug.value("synthetic_opioids").label]
    assert [line.name for line in deaths.lines] == ["All drug overdoses", "Synthetic opioids (fentanyl, T40.4)"]
    assert "United States" in deaths.title
    assert deaths.sources == ["cdc_vsrr_overdose"]
    for line in deaths.lines:
        assert len(line.frame) > 50
        assert line.frame["date"].min() >= pd.Timestamp(DEFAULT.start)
        assert line.period_prefix == t("period.12m_ending", "en") == "12 months ending "
    all_drugs = deaths.lines[0].frame.set_index("date")["value"]
    raw = store.series("cdc_vsrr_overdose.all_drugs", "US").set_index("date")["value"]
    assert all_drugs[pd.Timestamp("2020-12-01")] == raw[pd.Timestamp("2020-12-01")] == 92478
    assert t("note.overlapping", "en") in deaths.notes
    assert any("12 months ending" in n for n in deaths.notes)
    assert deaths.y_label == "deaths, rolling 12-month total"


def test_default_panels_all_have_data(default_panels):
    assert [p.key for p in default_panels] == ["deaths", "homicides", "seizures"]
    assert [len(p.lines) for p in default_panels] == [2, 2, 1]


def test_every_registered_panel_renders_with_data_for_its_default_view(reg, DEFAULT, home):
    """A panel declared in a TOML draws real lines in its default selection: a typo in a series
    id, a facet value or a geography would leave it empty."""
    assert len(reg.ordered()) >= 10
    for spec in reg.ordered():
        state = replace(DEFAULT, panels=(spec.key,))
        p = views.build_panel(spec, state)
        geo = DEFAULT.panel(spec.key).geo
        assert p.title.startswith(label(spec, "en").format(geo=views.geo_label(spec, geo, "en"))), spec.key
        assert p.lines, (spec.key, p.notes)
        # one line per selected series (and per compared geography, "<series> — <place>", where the panel compares)
        assert {line.name.split(" — ")[0] for line in p.lines} == \
            {label(s, "en") for s in spec.select(DEFAULT.panel(spec.key).selection())}, spec.key
        for line in p.lines:
            assert line.frame["value"].notna().sum() >= 3, (spec.key, line.name)
        assert p.sources and set(p.sources) <= {s.source_id for s in spec.series}
        assert p.y_label and "{" not in p.y_label, (spec.key, p.y_label)
        assert not any(n.startswith(("note.", "flag.")) for n in p.notes), (spec.key, p.notes)  # worded, not keys
        fig = home.render_view(state, [])["fig"][spec.key]
        drawn = _data_traces(fig)
        assert drawn and all(len(tr["y"]) for tr in drawn), spec.key
        assert plain(fig["layout"]["title"]["text"]) == plain(p.title)


def test_x_axis_starts_at_the_first_data_point(reg, DEFAULT):
    """Half-yearly lab reports start in 2017: the axis does not show two empty years before."""
    state = replace(DEFAULT, panels=("lab_reports",), start="2015-01-01")
    panels = views.build_panels(state, reg)
    first = min(s.frame["date"].min() for p in panels for s in p.shown)
    assert first == pd.Timestamp("2017-01-01")
    assert views.x_range(state, panels)[0] == "2017-01-01"


def test_x_range_ends_at_latest_displayed(default_panels, DEFAULT):
    start, end = views.x_range(DEFAULT, default_panels)
    assert start == DEFAULT.start  # every default panel has data from January 2015 on
    assert end == views.displayed_data(default_panels)["date"].max()
    assert views.x_range(replace(DEFAULT, end="2022-01-01"), default_panels) == (DEFAULT.start, "2022-01-01")
    zoomed = replace(DEFAULT, x0="2019-01-01", x1="2021-06-01")
    assert views.x_range(zoomed, default_panels) == ("2019-01-01", "2021-06-01")


# --- transforms -------------------------------------------------------------------------------


def test_per100k_for_cbp_gives_note_and_counts(reg, DEFAULT):
    """Seizures per 100k residents mean nothing (the drugs are not the residents'): counts
    stay, with a note saying why."""
    s = replace(DEFAULT, transform="per100k")
    seizures = panel(reg, s, "seizures")
    name = series_label(reg, "cbp_seizures.fentanyl_lbs")
    assert t("note.no_rate", "en", series=name) in seizures.notes
    assert any("Per 100k is not meaningful" in n for n in seizures.notes)
    frame = seizures.lines[0].frame
    assert frame["value"].notna().sum() > 50
    assert (frame["value"] == frame["raw"]).all()  # counts, untouched
    assert set(views.displayed_data([seizures])["transform"]) == {"counts"}
    assert seizures.y_label == "pounds"
    deaths = panel(reg, s, "deaths")  # ...while deaths become a rate
    assert deaths.y_label.startswith("per 100k")
    rate = deaths.lines[0].frame["value"].dropna()  # years past the population table have no rate
    assert len(rate) > 50 and (rate < 1000).all()


def test_per100k_names_the_years_without_population_once_per_panel(reg, DEFAULT):
    """Two overdose series whose data run past the population estimates: one note naming every
    year either lacks, not one near-duplicate per series."""
    for lang, rolling in (("en", 0), ("es", 0), ("en", 12)):  # 12-month sums: smoothing adds its own note
        deaths = panel(reg, replace(DEFAULT, transform="per100k", lang=lang, rolling=rolling), "deaths")
        years = sorted({str(d.year) for s in deaths.shown
                        for d, v, r in zip(s.frame["date"], s.frame["value"], s.frame["raw"])
                        if pd.isna(v) and pd.notna(r)})
        assert len(deaths.shown) >= 2 and years  # the real data do run past the estimates
        expected = views.unrated_note(set(years), lang)
        assert (years[0] in expected) and (years[-1] in expected)
        prefix = t("note.no_population_years", lang, first="", last="").split("–")[0]  # "No population estimate for "
        assert [n for n in deaths.notes if n.startswith(prefix)] == [expected]


def test_per100k_state_rate_of_12_month_sums_is_counts_over_population(reg, DEFAULT):
    s = replace(DEFAULT, transform="per100k").with_panel("deaths", geo="US-AZ", drug=("all_drugs",))
    p = panel(reg, s, "deaths")
    assert p.y_label == t("axis.per100k_12m", "en") == "per 100k residents, rolling 12-month total"
    row = p.lines[0].frame.iloc[10]
    pop = store.population("US-AZ")[row["date"].year]
    assert row["value"] == pytest.approx(row["raw"] / pop * 1e5)  # already a year's sum: not x12


def test_per100k_of_monthly_counts_is_annualised(reg, DEFAULT):
    """Monthly victims per 100k x 12, so the rate reads like the yearly rates readers know."""
    s = replace(DEFAULT, transform="per100k", start="2020-01-01", end="2020-12-01").with_panel(
        "homicides", geo="MX-CHH", source=("sesnsp",))
    p = panel(reg, s, "homicides")
    assert p.y_label == t("axis.per100k_annualised", "en") == "per 100k residents per year (annualised)"
    frame = p.lines[0].frame
    pop = store.population("MX-CHH")[2020]
    assert len(frame) == 12
    assert list(frame["value"]) == pytest.approx(list(frame["raw"] / pop * 1e5 * 12))
    # the 12 annualised monthly rates average to the year's rate
    assert frame["value"].mean() == pytest.approx(frame["raw"].sum() / pop * 1e5)


def test_index_at_milestone_is_100_at_milestone_month(reg, DEFAULT):
    s = replace(DEFAULT, transform="index", index_at="security-dialogue")
    p = panel(reg, s, "deaths")
    frame = p.lines[0].frame
    # the milestone (2021-10-08) falls in the month dated 2021-10-01: that month is the base
    assert frame.loc[frame["date"] == pd.Timestamp("2021-10-01"), "value"].item() == pytest.approx(100.0)
    assert p.y_label.startswith("index, Oct 2021 = 100")


def test_no_data_gives_note_not_error(reg, DEFAULT, home):
    s = replace(DEFAULT, start="2030-01-01").with_panel("homicides", geo="MX-CHH", source=("inegi",))
    p = panel(reg, s, "homicides")
    assert all(line.frame.empty for line in p.lines)
    assert views.text_summary(p) == t("summary.empty", "en")
    fig, _notes = views.panel_figure(p, s, views.x_range(s, [p]))
    # the empty chart says so instead of showing blank axes
    assert t("figure.no_data", "en") in [a["text"] for a in fig["layout"]["annotations"]]
    home.render_view(s, [])  # and the whole view still renders


def test_a_geography_without_the_series_says_so(reg, DEFAULT):
    """INEGI has no rows for a code it does not publish: the panel names the series and the place."""
    s = DEFAULT.with_panel("homicides", geo="MX-XX")
    p = panel(reg, s, "homicides")
    assert t("note.no_data", "en", series=series_label(reg, "inegi_homicide.homicides"), geo="MX-XX") in p.notes


# --- half-yearly, the firearm share, the incidence break ----------------------------------------


def test_half_yearly_lab_reports_say_so_and_refuse_a_3_month_mean(reg, DEFAULT):
    p = panel(reg, DEFAULT, "lab_reports")
    assert t("note.half_yearly", "en") in p.notes
    assert p.lines[0].period_prefix == t("period.half_year", "en")
    dates = p.lines[0].frame["date"]
    assert set(dates.dt.month) == {1, 7}  # one point per half-year
    rolled = panel(reg, replace(DEFAULT, rolling=3), "lab_reports")
    freq = label(vocabulary.frequencies()["half_yearly"], "en")
    assert t("note.rolling_not_applicable", "en", months=3, frequency=freq) in rolled.notes
    assert "No 3-month mean is applied: the values of this series are too far apart for one (half-yearly)." in rolled.notes
    frame = rolled.lines[0].frame
    assert "unsmoothed" not in frame and (frame["value"] == frame["raw"]).all()
    # the download does not claim a mean that was not taken
    assert set(views.displayed_data([rolled])["transform"]) == {"counts"}
    # twelve months is a mean over two half-years: applied
    year = panel(reg, replace(DEFAULT, rolling=12), "lab_reports")
    frame = year.lines[0].frame
    assert frame["value"].iloc[1] == pytest.approx(frame["raw"].iloc[:2].mean())
    assert set(views.displayed_data([year])["transform"]) == {"counts, 12-month mean"}


def test_firearm_share_is_firearm_victims_over_all_victims_month_by_month(reg, DEFAULT):
    """The firearm share, once a note, is its own panel; it agrees with the homicide panel's two
    SESNSP lines for every month, and over 2020 with SESNSP's totals."""
    s = replace(DEFAULT, start="2020-01-01", end="2020-12-01")
    share = panel(reg, s, "firearm_share").lines[0].frame.set_index("date")["value"]
    h = panel(reg, s.with_panel("homicides", source=("sesnsp",), weapon=("firearm",)), "homicides")
    by_id = {x.series_id: x.frame.set_index("date")["value"] for x in h.shown}
    victims, firearm = by_id["sesnsp_homicide.homicidio_doloso"], by_id["sesnsp_homicide.homicidio_doloso_firearm"]
    assert len(share) == 12
    pd.testing.assert_series_equal(share, firearm / victims * 100, check_names=False)
    assert victims.sum() == 34569 and firearm.sum() == 24415  # SESNSP 2020: homicidio doloso victims
    assert (share / 100 * victims).sum() / victims.sum() == pytest.approx(24415 / 34569)
    rate = panel(reg, replace(s, transform="per100k"), "firearm_share")
    assert t("note.no_rate", "en", series=rate.lines[0].name) in rate.notes  # a share has no rate


def test_incidence_panel_draws_its_2026_catalogue_break(reg, DEFAULT):
    spec = reg.panels["incidence"]
    s = replace(DEFAULT, panels=("incidence",))
    p = views.build_panel(spec, s)
    for lang, text in (("en", "New SESNSP crime catalogue"), ("es", "Nuevo catálogo de delitos del SESNSP")):
        fig, _ = views.panel_figure(p, replace(s, lang=lang), views.x_range(s, [p]))
        breaks = [sh for sh in fig["layout"]["shapes"] if sh["line"].get("dash") == "longdash"]
        assert [pd.Timestamp(b["x0"]) for b in breaks] == [pd.Timestamp("2026-01-01")]
        assert f"⟂ {text}" in [a["text"] for a in fig["layout"]["annotations"]]
    assert label(spec.notes[0], "en") in p.notes  # the catalogue change is explained under the chart


def with_facet(state, key, facet, values):
    views_ = dict(state.views)
    pv = views_[key]
    views_[key] = replace(pv, facets=tuple((k, tuple(values) if k == facet else v) for k, v in pv.facets))
    return replace(state, views=tuple(views_.items()))


def test_incidence_2015_catalogue_says_why_its_lines_stop_before_2026(reg, DEFAULT):
    """The seed's 2015-catalogue copy ends with the Nov 2024 cut: the chart must say those months are missing, not zero."""
    s = replace(DEFAULT, panels=("incidence",))
    old = views.build_panel(reg.panels["incidence"], s)
    assert max(line.frame["date"].max() for line in old.lines) < pd.Timestamp("2025-12-01")  # the shipped data
    assert any("through December 2025" in n and "not zero" in n for n in old.notes)
    es = views.build_panel(reg.panels["incidence"], replace(s, lang="es"))
    assert any("hasta diciembre de 2025" in n and "no son cero" in n for n in es.notes)
    new = views.build_panel(reg.panels["incidence"], with_facet(s, "incidence", "catalogue", ["2026"]))
    assert not any("December 2025" in n for n in new.notes)


# --- Spanish ----------------------------------------------------------------------------------


def test_spanish_view_has_spanish_titles_axis_labels_notes_and_es_mx_numbers(reg, DEFAULT, home):
    es = replace(DEFAULT, lang="es")
    deaths, homicides, seizures = views.build_panels(es, reg)
    spec = reg.panels["deaths"]
    assert deaths.title == spec.title_es.format(geo=store.geo_name("US", "es")) == \
        "Muertes por sobredosis de drogas en EE. UU. — Estados Unidos"
    assert [line.name for line in deaths.lines] == [spec.facet("drug").value("all_drugs").label_es,
                                                   spec.facet("drug").value("synthetic_opioids").label_es]
    assert deaths.y_label == t("axis.unit_12m", "es", unit=vocabulary.units()["deaths"].label_es) == \
        "muertes, 12 meses acumulados"
    assert deaths.notes[0] == i18n.catalog("es")["note.overlapping"]
    assert deaths.lines[0].period_prefix == i18n.catalog("es")["period.12m_ending"]
    assert label(reg.panels["homicides"].notes[0], "es") in homicides.notes
    assert seizures.y_label == "libras"
    assert t("flag.note.fytd", "es") in seizures.notes
    # es-MX writes 47,523 and 92,478 as English does (not 47.523)
    assert i18n.number(34569, "es") == "34,569"
    assert views.text_summary(deaths).startswith("Todas las sobredosis: de 47,523 (12 meses hasta ene 2015)")
    v = home.render_view(es, [])
    fig = v["fig"]["deaths"]
    assert fig["layout"]["yaxis"]["title"]["text"] == "muertes, 12 meses acumulados"
    assert fig["layout"]["separators"] == ".,"  # decimal point, thousands comma in the chart too
    markers = {tr["name"] for tr in fig["data"] if tr.get("yaxis") == "y2"}
    assert markers & {label(c, "es") for c in vocabulary.milestone_categories().values()}
    assert markers <= {label(c, "es") for c in vocabulary.milestone_categories().values()} | {t("figure.mixed", "es")}
    table = str(home.data_table(deaths))
    assert "92,478" in table and "dic 2020" in table
    notes = str(v["notes"]["deaths"])
    assert i18n.catalog("es")["note.overlapping"] in notes


def test_spanish_notices_for_rates_and_half_years(reg, DEFAULT):
    es = replace(DEFAULT, lang="es", transform="per100k")
    h = panel(reg, es, "homicides")
    assert h.y_label == i18n.catalog("es")["axis.per100k_annualised"]
    lab = panel(reg, replace(DEFAULT, lang="es", rolling=3), "lab_reports")
    freq = vocabulary.frequencies()["half_yearly"].label_es
    assert t("note.rolling_not_applicable", "es", months=3, frequency=freq) in lab.notes
    assert i18n.catalog("es")["note.half_yearly"] in lab.notes


# --- tables, downloads, provenance --------------------------------------------------------------


def _synthetic_panel(reg, series: dict[str, list]) -> views.Panel:
    """A panel of synthetic series (name -> values on consecutive months), for known answers."""
    p = views.Panel(reg.panels["deaths"], "X", "en", "Synthetic")
    for name, values in series.items():
        frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=len(values), freq="MS"),
                              "value": values, "raw": values, "flag": [None] * len(values)})
        p.shown.append(views.Shown(f"synthetic.{name}", name, "X", frame, "u", "monthly", "synthetic", "counts"))
    return p


def test_change_table_first_last_change_synthetic(reg):
    tbl = views.change_table([_synthetic_panel(reg, {"A": [10.0, None, 15.0, None], "B": [0.0, 5.0], "C": [None]})])
    tbl = tbl.set_index("series")
    assert list(tbl.index) == ["A", "B"]  # all-missing C has no row
    assert tbl.loc["A", "first"] == 10 and tbl.loc["A", "last"] == 15 and tbl.loc["A", "change"] == 5
    assert tbl.loc["A", "first_date"] == "2020-01-01" and tbl.loc["A", "last_date"] == "2020-03-01"
    assert tbl.loc["A", "change_pct"] == pytest.approx(50.0)
    assert pd.isna(tbl.loc["B", "change_pct"])  # from zero: no percent
    assert tbl.loc["B", "change"] == 5
    assert list(views.change_table([]).columns)[:3] == ["series", "geo_name", "unit"]


def test_change_table_on_real_data(default_panels):
    shown = views.displayed_data(default_panels)
    tbl = views.change_table(default_panels)
    assert len(tbl) == 5
    row = tbl[tbl["series"] == "All drug overdoses"].iloc[0]
    g = shown[(shown["series"] == row["series"])].dropna(subset=["value"])
    assert row["first"] == g["value"].iloc[0] and row["last"] == g["value"].iloc[-1]
    assert row["first_date"] == g["date"].iloc[0] and row["last_date"] == g["date"].iloc[-1]
    assert row["change"] == pytest.approx(row["last"] - row["first"])


def test_download_name_has_geos_transform_zoom_version(DEFAULT):
    s = replace(DEFAULT, transform="per100k", rolling=3).with_panel("deaths", geo="US-AZ") \
        .with_panel("homicides", geo="MX-CHH").with_panel("seizures", geo="US")
    name = views.download_name(s, "abc123def456")
    for part in ("US-AZ", "MX-CHH", "US", "per100k", "roll3", "abc123def456"):
        assert part in name.split("_")
    assert name.startswith("xborder_") and name.endswith("_abc123def456")
    assert views.download_name(DEFAULT, "v1") == "xborder_US_MX_CBP-SWB_counts_v1"
    zoomed = replace(DEFAULT, x0="2019-01-01", x1="2021-06-01")
    assert views.download_name(zoomed, "v1") == "xborder_US_MX_CBP-SWB_counts_2019-01_2021-06_v1"


def test_export_after_a_zoom_covers_only_the_zoomed_range(DEFAULT):
    zoomed = replace(DEFAULT, x0="2019-01-01", x1="2021-06-01")
    content, filename = views.export(zoomed, "csv")
    df = pd.read_csv(io.BytesIO(content))
    assert filename.endswith(".csv") and "2019-01_2021-06" in filename
    assert df["date"].min() == "2019-01-01" and df["date"].max() == "2021-06-01"
    assert set(df["panel"]) == {"deaths", "homicides", "seizures"}
    full = pd.read_csv(io.BytesIO(views.export(DEFAULT, "csv")[0]))
    inside = full[(full["date"] >= "2019-01-01") & (full["date"] <= "2021-06-01")].reset_index(drop=True)
    pd.testing.assert_frame_equal(df.reset_index(drop=True), inside, check_dtype=False)  # flag: all empty here
    parquet, name = views.export(zoomed, "parquet")
    assert name.endswith(".parquet") and len(pd.read_parquet(io.BytesIO(parquet))) == len(df)


def test_data_version_is_stable_and_depends_on_sources():
    a = store.data_version(["cdc_vsrr_overdose", "cbp_seizures"])
    assert a == store.data_version(["cbp_seizures", "cdc_vsrr_overdose", "cbp_seizures"])
    assert a != store.data_version(["cdc_vsrr_overdose"])
    assert len(a) == 12


def test_displayed_data_has_provenance(default_panels, DEFAULT):
    df = views.displayed_data(default_panels)
    for col in ("series_id", "geo", "date", "value", "raw_value", "source_id", "snapshot", "snapshot_md5",
                "transform", "panel", "unit"):
        assert col in df.columns, col
    assert df[["source_id", "snapshot", "snapshot_md5", "transform"]].notna().all().all()
    assert set(df["source_id"]) == {"cdc_vsrr_overdose", "sesnsp_homicide", "inegi_homicide", "cbp_seizures"}
    cdc = df[df["source_id"] == "cdc_vsrr_overdose"]
    md5s = store.provenance("cdc_vsrr_overdose")["snapshot_md5s"]
    assert cdc["snapshot_md5"].iloc[0] == ";".join(f"{k}={v}" for k, v in sorted(md5s.items()))
    assert (cdc["snapshot"] == store.provenance("cdc_vsrr_overdose")["snapshot"]).all()
    assert set(df["transform"]) == {"counts"}
    rolled = views.displayed_data(views.build_panels(replace(DEFAULT, rolling=3, transform="index")))
    by_panel = rolled.groupby("panel")["transform"].agg(set).to_dict()
    # monthly series are smoothed; CDC's 12-month sums are not (a mean of sums would smooth twice)
    assert by_panel == {"homicides": {"index, 3-month mean"}, "seizures": {"index, 3-month mean"},
                        "deaths": {"index"}}


# --- the page callback ------------------------------------------------------------------------


def _pattern_id(key: tuple) -> dict:
    """A control_values key -> the component's pattern-matching id."""
    return {"type": key[0], "panel": key[1], "facet": key[2]} if key[0] == "facet" else {"type": key[0], "panel": key[1]}


def call_timeline(home, reg, values: dict, zoom: dict | None = None, lang: str = "en") -> dict:
    from app import app as dash_app

    """Run the page's ALL callback as Dash runs it (the same inputs_list / outputs_list, the ALL
    groups in the callback's own order), and name its outputs."""
    callbacks = {**GLOBAL_CALLBACK_MAP, **dash_app.callback_map}  # the app's map fills on the first request
    key = next(k for k in callbacks if '"type":"fig"' in k.replace(" ", "") and ".figure" in k)
    groups = [json.loads(i["id"])["type"] for i in callbacks[key]["inputs"] if i["id"].startswith("{")]
    inputs_list, args = [], []
    for group in groups:  # in layout order: control_values lists panels in registry order
        keys = [k for k in values if isinstance(k, tuple) and k[0] == group]
        inputs_list.append([{"id": _pattern_id(k), "property": "value", "value": values[k]} for k in keys])
        args.append([values[k] for k in keys])
    panels = [p.key for p in reg.ordered()]
    token = context_value.set(AttributeDict(
        inputs_list=inputs_list,
        outputs_list=[[{"id": {"type": part, "panel": k}, "property": "children"} for k in panels]
                      for part in home.PANEL_OUTPUTS]))
    try:
        out = home.update_timeline(*args, *[values[c] for c in home.GLOBAL_CONTROLS], zoom or {}, lang)
    finally:
        context_value.reset(token)
    parts = list(home.PANEL_OUTPUTS) + ["panel-hidden", "controls-hidden"] + list(home.PAGE_OUTPUTS)
    named = dict(zip(parts, out))
    for part in list(home.PANEL_OUTPUTS) + ["panel-hidden", "controls-hidden"]:
        named[part] = dict(zip(panels, named[part]))
    return named


def _data_traces(fig) -> list:
    """Drawn series: not the milestone markers (on the overlay axis y2), not the legend-only flag entries (x=[None])."""
    return [tr for tr in fig["data"] if tr.get("yaxis") != "y2"
            and not (isinstance(tr["x"], list) and tr["x"] == [None])]


def test_control_values_of_the_default_view_parse_back_and_fill_every_panel(home, reg, DEFAULT):
    values = home.control_values(DEFAULT)
    out = call_timeline(home, reg, values)
    for k in DEFAULT.panels:
        assert any(len(tr["y"]) > 50 for tr in _data_traces(out["fig"][k])), k
    assert out["panel-hidden"] == {k: k not in DEFAULT.panels for k in out["panel-hidden"]}
    assert out["controls-hidden"] == out["panel-hidden"]
    assert out["view-query"] == ""  # the view query of the default view is empty
    assert out["data-version"].startswith("version of the data shown ")


def test_callback_survives_bad_free_text_dates(home, reg, DEFAULT):
    """The From/To boxes are free text; a typo falls back to the default with a notice instead of
    breaking the callback."""
    values = {**home.control_values(DEFAULT), "end": "2024-13-45", "start": "garbage"}
    out = call_timeline(home, reg, values)
    assert out["view-query"] == ""  # the default view
    assert len(_data_traces(out["fig"]["deaths"])) > 1
    notices = str(out["control-notices"])
    assert "start=garbage" in notices and "end=2024-13-45" in notices


def test_cleared_start_box_keeps_data(home, reg, DEFAULT):
    """Clearing the From box must not give start='NaT' (which would empty every chart)."""
    values = {**home.control_values(DEFAULT), "start": ""}
    out = call_timeline(home, reg, values)
    assert out["view-query"] == ""
    assert any(len(tr["x"]) > 50 for tr in _data_traces(out["fig"]["deaths"]))


def test_callback_keeps_the_zoom_and_shows_an_opt_in_panel(home, reg, DEFAULT):
    values = {**home.control_values(DEFAULT), "panels": ["deaths", "lab_reports"], "transform": "per100k"}
    out = call_timeline(home, reg, values, zoom={"x0": "2019-01-01", "x1": "2021-06-01"})
    assert out["view-query"] == "?panels=deaths,lab_reports&transform=per100k&x0=2019-01-01&x1=2021-06-01"
    assert out["panel-hidden"]["lab_reports"] is False and out["panel-hidden"]["homicides"] is True
    fig = out["fig"]["lab_reports"]
    assert fig["layout"]["xaxis"]["range"] == ["2019-01-01", "2021-06-01"]
    assert fig["layout"]["yaxis"]["title"]["text"] == figures.wrap(t("axis.per100k_annualised", "en"), figures.YTITLE_WRAP)
    # the change table covers the zoomed range only
    assert "2019-01-01" in str(out["change-table"]) and "2021-06-01" in str(out["change-table"])


def test_callback_in_spanish_words_its_notices_in_spanish(home, reg, DEFAULT):
    values = {**home.control_values(DEFAULT), "start": "garbage"}
    out = call_timeline(home, reg, values, lang="es")
    assert "El parámetro «start=garbage» no es válido" in str(out["control-notices"])
    assert out["fig"]["deaths"]["layout"]["title"]["text"].startswith("Muertes por sobredosis")
    assert out["data-version"].startswith("versión de los datos mostrados ")


def test_a_forged_control_id_is_ignored(home, reg, DEFAULT):
    q = home.controls_query(["x"], [{"type": "facet", "panel": "nope", "facet": "drug"}], ["US-AZ"],
                            [{"type": "geo", "panel": "deaths"}], {}, None, "en")
    assert "nope.drug" not in q and q["us_geo"] == "US-AZ"


# --- the rest of the page ---------------------------------------------------------------------


def test_bad_milestone_edit_keeps_last_good_list_and_says_why(tmp_path, monkeypatch):
    """A user's broken edit of the registry must not take the dashboard down."""
    import shutil

    from etl import paths

    good = store.milestones()
    data = tmp_path / "data"
    shutil.copytree(paths.REPO_ROOT / "data" / "milestones", data / "milestones")
    monkeypatch.setenv("XBORDER_DATA_DIR", str(data))
    (data / "milestones" / "milestones.csv").open("a", encoding="utf-8").write(
        "broken,2021-99-99,policy,US,false,T,T,d,https://example.org\n")
    shown = store.milestones()
    assert len(shown) == len(good)
    assert "row 17, field 'date'" in store.milestones_error()


def test_text_summary_states_first_last_and_peak_in_plain_numbers(reg, DEFAULT):
    text = views.text_summary(panel(reg, DEFAULT, "deaths"))
    assert text.startswith("All drug overdoses: 47,523 (12 months ending Jan 2015)")  # CDC provisional
    assert "12 months ending" in text and "highest" in text and "e+" not in text


@pytest.mark.parametrize("path", ["/", "/impact", "/maps", "/revisions", "/sources"])
def test_pages_without_built_data_say_what_to_do_instead_of_failing(path, tmp_path, monkeypatch, dash_app):
    """A fresh checkout before the first build: every page renders, none raises."""
    import shutil

    import dash

    from etl import paths

    data = tmp_path / "data"
    for part in ("reference", "milestones", "geo"):
        shutil.copytree(paths.REPO_ROOT / "data" / part, data / part)
    monkeypatch.setenv("XBORDER_DATA_DIR", str(data))
    page = next(p for p in dash.page_registry.values() if p["path"] == path)
    rendered = str(page["layout"]())
    if path in {"/impact", "/maps", "/revisions"}:
        assert "python -m etl run --offline" in rendered


@pytest.mark.parametrize("now, stale", [
    ("2026-07-15", False),   # 18 days after the CDC snapshot: fresh for a monthly source
    ("2026-08-10", False),   # 44 days: still within 1.5 x 31 = 46.5
    ("2026-08-20", True),    # 54 days: stale
])
def test_stale_badge_counts_from_the_snapshot_date_against_the_cadence(now, stale):
    from datetime import datetime, timezone

    p = store.provenance("cdc_vsrr_overdose", now=datetime.fromisoformat(now).replace(tzinfo=timezone.utc))
    assert p["snapshot"] == "2026-06-27" and p["stale"] is stale


def test_the_note_comparing_inegi_and_sesnsp_states_the_gap_the_data_show(reg):
    """The homicide panel's note quotes the yearly gap between the two national counts: checked
    against the shipped tables, so a refresh that changes it fails here instead of misleading."""
    sesnsp = store.series("sesnsp_homicide.homicidio_doloso", "MX")
    inegi = store.series("inegi_homicide.homicides", "MX")
    yearly = {name: df.groupby(df["date"].dt.year)["value"].sum() for name, df in (("s", sesnsp), ("i", inegi))}
    gap = (yearly["i"] - yearly["s"]).loc[2015:2022]
    assert len(gap) == 8
    low, high = f"{int(gap.min()):,}", f"{int(gap.max()):,}"
    notes = [n for p in reg.panels.values() for n in p.notes if "INEGI" in n.text and "SESNSP" in n.text]
    assert notes
    for n in notes:
        for text in (n.text, n.text_es):
            assert f"{low} " in text and f"{high} " in text and "2015" in text and "2022" in text, text
        # national figures, shown under a state's chart too: the note must say they are national
        assert "nationally" in n.text and "a nivel nacional" in n.text_es


def test_index_at_a_date_before_some_series_start_bases_every_line_on_one_common_month(reg, DEFAULT):
    """Mérida (Oct 2007) predates SESNSP's series (2015): each line used to be 100 at its own
    start, so INEGI stood at ~200 beside SESNSP's 100 in the same month. Now all share one base."""
    ms = store.milestones()
    early = ms.loc[ms["date"] < pd.Timestamp("2010-01-01"), "id"].iloc[0]  # Mérida, 2007
    s = replace(DEFAULT, transform="index", index_at=early, start="2000-01-01")
    homicides = panel(reg, s, "homicides")
    assert len(homicides.shown) >= 2
    bases = {sh.frame.loc[sh.frame["value"].sub(100).abs() < 1e-9, "date"].min() for sh in homicides.shown}
    assert len(bases) == 1  # one common base month
    base = bases.pop()
    first = max(sh.frame.loc[sh.frame["raw"] > 0, "date"].min() for sh in homicides.shown)
    assert base == first  # the first month every line has data
    assert len(set(homicides.labels)) == 1
    assert t("note.index_common_base", "en", base=i18n.month(base, "en"),
             asked=i18n.month(ms.loc[ms["id"] == early, "date"].iloc[0], "en")) in homicides.notes
    # a date every line covers keeps its own base and says nothing more
    plain_index = panel(reg, replace(DEFAULT, transform="index"), "homicides")
    assert not any("published value in every line" in n for n in plain_index.notes)


def test_log_scale_notes_only_the_points_it_hides(reg, DEFAULT):
    s = replace(DEFAULT, log=True, transform="yoy")  # year-over-year changes go below zero: some hidden
    xr = ("2015-01-01", "2026-01-01")
    counted = []
    for p in views.build_panels(s):
        hidden = sum(views.transforms.log_hidden(line.frame["value"]) for line in p.lines)
        _, notes = views.panel_figure(p, s, xr)
        assert (t("note.log_hidden", "en", n=hidden) in notes) == (hidden > 0)
        assert len(notes) == len(p.notes) + (hidden > 0)  # no "nothing hidden" line
        counted.append(hidden)
    assert any(counted)


def test_series_a_rate_means_nothing_for_are_named_in_one_note(reg, DEFAULT):
    """Three sanctions series, or one score compared across four geographies: one note, each
    series named once (Babel joins the names as each language does)."""
    for lang, joined in (("en", ", and "), ("es", " y ")):
        sanctions = panel(reg, replace(DEFAULT, transform="per100k", lang=lang), "sanctions")
        names = [label(s, lang) for s in reg.panels["sanctions"].select(DEFAULT.panel("sanctions").selection())]
        assert len(names) >= 2
        prefix = t("note.no_rate", lang, series="").split("{")[0][:20]
        rate_notes = [n for n in sanctions.notes if n.startswith(prefix)]
        assert len(rate_notes) == 1 and all(n in rate_notes[0] for n in names) and joined in rate_notes[0]
    scores = panel(reg, replace(DEFAULT, transform="per100k"), "oc_index")
    assert len({sh.geo for sh in scores.shown}) > 1  # compared geographies
    rate_notes = [n for n in scores.notes if n.startswith("Per 100k is not meaningful")]
    assert len(rate_notes) == 1 and " — " not in rate_notes[0]


def test_half_yearly_panel_explains_half_years_once(reg, DEFAULT):
    lab = panel(reg, DEFAULT, "lab_reports")
    assert sum(n.startswith("Half-yearly values") for n in lab.notes) == 1


def test_change_points_name_the_line_they_were_found_in(reg, DEFAULT):
    """Two lines on the homicide chart: the legend must say whose change points the diamonds are."""
    s = replace(DEFAULT, panels=("homicides",), changepoints=True)
    p = views.build_panel(reg.panels["homicides"], s)
    assert len(p.lines) >= 2
    fig, _ = views.panel_figure(p, s, views.x_range(s, [p]))
    (cp,) = [tr for tr in fig["data"] if tr.get("marker", {}).get("symbol") == "diamond"]
    assert cp["name"].replace("<br>", " ") == f"Detected change points: {p.lines[0].name}"
    assert max(len(line) for line in cp["name"].split("<br>")) <= figures.LEGEND_WRAP  # fits a phone's legend
    assert cp["x"] and all(label.startswith(p.lines[0].name) for label in cp["text"])


def test_year_over_year_says_how_few_values_have_a_year_earlier(reg, DEFAULT):
    """Real data: Organized Crime Index editions are two years apart (no change at all), sanctions
    lists come at irregular dates; a monthly series with every month says nothing."""
    s = replace(DEFAULT, transform="yoy")
    oc = panel(reg, replace(s, panels=("oc_index",)), "oc_index")
    sparse = [n for n in oc.notes if "exactly a year earlier" in n]
    assert len(sparse) == 1 and "(0 of 3 for " in sparse[0]  # one note for the four lines
    sanctions = panel(reg, replace(s, panels=("sanctions",)), "sanctions")
    assert any("needs a value exactly a year earlier" in n for n in sanctions.notes)
    deaths = panel(reg, s, "deaths")
    assert not any("exactly a year earlier" in n for n in deaths.notes)
    es = panel(reg, replace(s, panels=("oc_index",), lang="es"), "oc_index")
    assert any("requiere un valor de exactamente un año antes" in n for n in es.notes)


def test_lines_of_one_source_that_end_months_apart_are_pointed_out(reg, DEFAULT):
    """Real seed data: CDC's all-drug line ends Aug 2025, its fentanyl line (a later release) Jan 2026."""
    deaths = panel(reg, DEFAULT, "deaths")
    (note,) = [n for n in deaths.notes if "end in different months" in n]
    assert "All drug overdoses in Aug 2025" in note and "in Jan 2026" in note
    es = panel(reg, replace(DEFAULT, lang="es"), "deaths")
    assert any("terminan en meses distintos" in n and "ago 2025" in n for n in es.notes)
    assert not any("different months" in n for n in panel(reg, DEFAULT, "seizures").notes)


def test_per_100k_does_not_explain_provisional_points_it_no_longer_draws(reg, DEFAULT):
    """Real data: the overdose counts are provisional from 2025, where no population estimate
    exists; per 100k drops those months, so neither the notes nor the legend may speak of dashes."""
    counts = panel(reg, DEFAULT, "deaths")
    assert any(n.startswith("Provisional values (dashed)") for n in counts.notes)
    rates_state = replace(DEFAULT, transform="per100k")
    rates = panel(reg, rates_state, "deaths")
    assert not any(n.startswith("Provisional values (dashed)") for n in rates.notes)
    fig, _ = views.panel_figure(rates, rates_state, views.x_range(rates_state, [rates]))
    assert "provisional" not in _legend_only(fig)
    fig, _ = views.panel_figure(counts, DEFAULT, views.x_range(DEFAULT, [counts]))
    assert "provisional" in _legend_only(fig)


def _legend_only(fig) -> list[str]:
    return [tr["name"] for tr in fig["data"] if isinstance(tr["x"], list) and tr["x"] == [None]]


def test_a_chart_summary_writes_each_lines_numbers_at_one_precision(reg, DEFAULT):
    """Real data, year-over-year: the sentence read "−6.52 (Jan 2015) to −10.9"."""
    import re

    s = replace(DEFAULT, transform="yoy")
    summary = views.text_summary(panel(reg, s, "homicides"))
    sentences = re.findall(r": ([+−\d.,]+) \(.*?\) to ([+−\d.,]+) \(.*?\); highest ([+−\d.,]+) in", summary)
    assert sentences, summary
    for numbers in sentences:  # changes carry their sign, with a true minus: "+11.3 to −22.2", not "-22.2"
        assert all(n[0] in "+−" or n.strip("0.,") == "" for n in numbers), numbers
        decimals = {len(n.split(".")[1]) if "." in n else 0 for n in numbers}
        assert len(decimals) == 1, numbers


@pytest.mark.parametrize("values, digits", [([882.24, 1261.0], 0), ([-6.52, -10.94, 25.3], 1), ([0.42, 3.1], 2),
                                            ([12.0, 7.0], 0), ([float("nan"), 5.5], 2), ([], 0)])
def test_shared_digits_gives_numbers_read_together_the_precision_of_the_largest(values, digits):
    from dashboard.i18n import shared_digits

    assert shared_digits(values) == digits
