"""The Maps page: the rates against the publishers' headline figures, every offered year drawing,
and the page in headless Chromium (Alaska and Hawaii in frame, table, URL, export, Spanish, no
request leaving the machine)."""

from __future__ import annotations

import pytest

from dashboard import maps
from dashboard.pages import maps as page

from browser_util import goto_settled, open_page

# Headline figures (../shared/data/snapshots README and PROVENANCE files): 12 months ending
# December 2020 as reported by CDC; SESNSP victims and INEGI certificates for 2020.
CDC_2020_BORDER = {"US-AZ": 2644, "US-CA": 9209, "US-NM": 792, "US-TX": 4154}
CDC_2020_US = 92478
SESNSP_2020 = 34569
INEGI_2020 = 35787


def test_rates_are_the_publishers_counts_over_population():
    us = maps.year_rates("us", "all_drugs", 2020).set_index("geo")
    assert {g: us.loc[g, "count"] for g in CDC_2020_BORDER} == CDC_2020_BORDER
    az = us.loc["US-AZ"]
    assert az["value"] == pytest.approx(az["count"] / az["population"] * 1e5)
    assert len(us) == 51  # 50 states and DC
    assert maps.year_rates("mx", "sesnsp", 2020)["count"].sum() == SESNSP_2020
    assert maps.year_rates("mx", "inegi", 2020)["count"].sum() == INEGI_2020
    assert len(maps.year_rates("mx", "inegi", 2020)) == 32


def test_new_york_state_adds_new_york_city_which_cdc_reports_apart():
    import etl

    parts = etl.load("cdc_vsrr_overdose.all_drugs", geo=["US-NY", "US-NYC"], start="2020-12-01", end="2020-12-01")
    ny = maps.year_rates("us", "all_drugs", 2020).set_index("geo").loc["US-NY"]
    assert ny["count"] == parts["value"].sum()
    assert "US-NYC" not in set(maps.year_rates("us", "all_drugs", 2020)["geo"])


def test_national_rate_is_the_national_count_over_the_national_population():
    assert maps.national_rate("us", "all_drugs", 2020) == pytest.approx(CDC_2020_US / 331.5e6 * 1e5, rel=0.01)


COMBOS = [(u, m) for u in maps.US.options for m in maps.MX.options]


@pytest.mark.parametrize("us_drug, mx_source", COMBOS)
def test_every_listed_year_renders_both_maps(us_drug, mx_source):
    """The Year list once offered 2023 and 2024 and the callback failed on them (HTTP 500)."""
    listed = maps.years_for(us_drug, mx_source)
    for year in listed:
        out = page.update_maps(year, us_drug, mx_source, "-rate", "en")
        us_fig, mx_fig = out[0], out[5]
        assert [o["value"] for o in out[-2]] == listed[::-1] and not _warnings(out[-1])  # drawn as asked, no notice
        drawn = 0
        for key, option, fig, summary in (("us", us_drug, us_fig, out[2]), ("mx", mx_source, mx_fig, out[7])):
            assert str(year) in fig.layout.title.text
            if year in maps.years(key, option):
                assert any(t.type == "choropleth" and len(t.locations) for t in fig.data)
                drawn += 1
            else:  # the map says so, and where to look instead
                assert not fig.data and "No state figures" in fig.layout.annotations[0].text
                assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False  # no bare grid
                assert "no state figures" in summary and "pick a year" in summary
        assert drawn >= 1, year  # never two empty grey maps


def _find(node, id_):
    """The component with ``id_`` in a layout tree."""
    if getattr(node, "id", None) == id_:
        return node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json") and (found := _find(child, id_)) is not None:
            return found
    return None


def _warnings(year_notes: list) -> list:
    """The Year list's warnings (a year neither map draws), not its pointer to later years."""
    return [n for n in year_notes if "notice warning" in str(n)]


def _text(node) -> str:
    if isinstance(node, (str, int, float)):
        return str(node)
    if isinstance(node, (list, tuple)):
        return " ".join(_text(c) for c in node if c is not None)
    children = getattr(node, "children", None)
    return " ".join(_text(c) for c in (children if isinstance(children, (list, tuple)) else [children]) if c is not None)


def test_year_list_of_the_default_series_runs_from_their_first_to_their_last_year_with_data():
    """Before, the list offered every year any series has (2000-2024): 2023 and 2024 drew two
    empty grey maps with the default series."""
    us, mx = maps.years("us", "all_drugs"), maps.years("mx", "inegi")
    first, last = min(us[0], mx[0]), max(us[-1], mx[-1])
    listed = [o["value"] for o in _find(page.layout(), "map-year").options]
    assert listed[0] == last and listed[-1] == first and listed == sorted(listed, reverse=True)
    assert all(not maps.year_rates("us", "all_drugs", y).empty or not maps.year_rates("mx", "inegi", y).empty
               for y in listed)
    assert 2024 not in listed and 2024 in maps.offered_years()  # other series draw 2024; these do not


def test_year_list_follows_the_series_chosen():
    """SESNSP and CDC both start in 2015: 2000-2014 would draw two empty maps."""
    listed = [o["value"] for o in _find(page.layout(mx_source="sesnsp"), "map-year").options]
    assert listed[-1] == 2015 == min(maps.years("us", "all_drugs")[0], maps.years("mx", "sesnsp")[0])
    assert listed[0] == 2024  # SESNSP draws 2024 (CDC's all-drugs state figures end in 2022)


def test_the_default_view_says_which_series_reach_later_years():
    """On the default series the Year list ends in 2022; synthetic opioids and SESNSP reach 2024,
    and a reader could not tell without trying each option."""
    note = _text(_find(page.layout(), "map-year-note"))
    assert "Later years (2023–2024) have maps for: Synthetic opioids" in note and "SESNSP" in note
    assert "tienen mapas de: Opioides sintéticos" in _text(_find(page.layout(lang="es"), "map-year-note"))
    assert _text(_find(page.layout(us_drug="synthetic_opioids", mx_source="sesnsp"), "map-year-note")) == ""


@pytest.mark.parametrize("query, first, last", [({"year": "2005", "mx_source": "sesnsp"}, 2015, 2024),
                                                ({"year": "2024"}, 2000, 2022), ({"year": "2023"}, 2000, 2022)])
def test_a_link_year_neither_map_draws_opens_as_named_listed_and_explained(query, first, last):
    """Links keep working: an old link to 2023 opens 2023 (each map explains it is empty), the
    Year list shows it although the series have no figures for it, and one notice says so."""
    sel, notes = page.parse(query)
    assert (sel["year"], notes) == (int(query["year"]), [])
    assert int(query["year"]) not in maps.years_for(sel["us_drug"], sel["mx_source"])
    for lang, words in (("en", f"Neither map has state figures for {query['year']} with the series chosen: with these "
                                f"series, years with figures run from {first} to {last}."),
                        ("es", f"Ninguno de los dos mapas tiene cifras estatales de {query['year']} con las series "
                               f"elegidas: con estas series, hay cifras de {first} a {last}.")):
        tree = page.layout(**query, lang=lang)
        assert words in _text(_find(tree, "map-year-note"))
        year = _find(tree, "map-year")
        assert year.value == int(query["year"]) and int(query["year"]) in [o["value"] for o in year.options]


def test_a_year_one_map_draws_is_kept_and_the_other_map_explains():
    """An old link to 2005 still opens 2005: INEGI draws it, CDC's map says it has nothing."""
    sel, notes = page.parse({"year": "2005"})
    assert (sel["year"], notes) == (2005, [])
    out = page.update_maps(2005, "all_drugs", "inegi", "-rate", "en")
    assert "2015–2022" in out[2] and not _warnings(out[-1])
    assert any(t.type == "choropleth" for t in out[5].data)


def test_changing_series_keeps_the_year_and_says_neither_map_draws_it():
    """2005 with INEGI, then SESNSP chosen: the year stays (a cached answer depends on its inputs
    only, and the reader chose it), both maps explain, and the notice gives the years to pick."""
    out = page.update_maps(2005, "all_drugs", "sesnsp", "-rate", "es")
    assert "year=2005" in out[10] and out[0].layout.title.text.endswith("2005")
    listed = [o["value"] for o in out[-2]]
    assert listed[0] == 2024 and listed[-1] == 2005 and 2014 not in listed  # 2015-2024, and the year shown
    assert "Ninguno de los dos mapas tiene cifras estatales de 2005" in _text(out[-1])
    assert not _warnings(page.update_maps(2015, "all_drugs", "sesnsp", "-rate", "es")[-1])


def test_2024_all_drugs_says_which_years_have_state_figures():
    frame = maps.year_rates("us", "all_drugs", 2024)
    assert frame.empty
    text = maps.summary("us", "all_drugs", 2024, frame, "en")
    assert "2015–2022" in text
    assert maps.years("us", "synthetic_opioids")[-1] >= 2024  # the other option does draw 2024


def test_suppressed_states_are_listed_grey_and_in_the_summary():
    frame = maps.year_rates("us", "synthetic_opioids", 2020)
    suppressed = frame[frame["value"].isna()]
    assert len(suppressed) >= 1 and suppressed["suppressed"].all()
    fig = maps.figure("us", "synthetic_opioids", 2020, frame, "en")
    grey = [t for t in fig.data if t.showscale is False]
    assert grey and set(grey[0].locations) == set(suppressed["location"])
    assert "suppressed" in maps.summary("us", "synthetic_opioids", 2020, frame, "en")
    rows = maps.table_rows(frame, "en")
    assert rows[-1]["rate"] == "suppressed"  # suppressed last, never ranked


def test_unit_is_per_100k_per_year_on_the_colour_bar_and_in_the_hover():
    fig = maps.figure("mx", "inegi", 2020, maps.year_rates("mx", "inegi", 2020), "en")
    trace = fig.data[-1]
    assert "per 100k per year" in trace.colorbar.title.text
    assert "homicides per 100,000 residents per year" in trace.text[0]
    assert "per year" in fig.layout.title.subtitle.text
    es = maps.figure("mx", "inegi", 2020, maps.year_rates("mx", "inegi", 2020), "es")
    assert "al año" in es.data[-1].colorbar.title.text and "Ciudad de México" in " ".join(es.data[-1].text)


def test_title_and_sources_are_inside_the_figure():
    fig = maps.figure("us", "all_drugs", 2021, maps.year_rates("us", "all_drugs", 2021), "en")
    assert fig.layout.title.text == "Overdose deaths, all drugs, 2021"
    source = fig.layout.annotations[-1].text
    assert "CDC" in source and "Census Bureau" in source and "snapshot" in source and "Crude rates" in source


def test_table_sorts_by_rate_or_name():
    frame = maps.year_rates("mx", "sesnsp", 2020)
    by_rate = maps.table_rows(frame, "es", "-rate")
    top = frame.sort_values("value").iloc[-1]
    assert by_rate[0]["name"] == top["name_es"]
    names = [r["name"] for r in maps.table_rows(frame, "es", "name")]
    assert names[0] == "Aguascalientes" and names[-1] == "Zacatecas"


@pytest.mark.parametrize("query, bad", [({"year": "1999"}, "year=1999"), ({"year": "twenty"}, "year=twenty"),
                                        ({"us_drug": "heroin"}, "us_drug=heroin"), ({"bogus": "1"}, "bogus=1")])
def test_bad_parameters_fall_back_with_a_notice(query, bad):
    sel, notes = page.parse(query)
    assert len(notes) == 1 and f"{notes[0][1]['param']}={notes[0][1]['value']}" == bad
    assert sel["year"] == maps.default_year() and sel["us_drug"] == "all_drugs"


def test_parameters_accepted_before_still_work():
    sel, notes = page.parse({"year": "2021", "us_drug": "synthetic_opioids", "mx_source": "sesnsp", "lang": "es"})
    assert notes == [] and (sel["year"], sel["us_drug"], sel["mx_source"]) == (2021, "synthetic_opioids", "sesnsp")


# --- in the browser ---------------------------------------------------------------------------

JS_MAPS_DRAWN = """() => [...document.querySelectorAll('#map-us .js-plotly-plot, #map-mx .js-plotly-plot')]
    .filter(g => g._fullData && g._fullData.length).length === 2"""
JS_INSETS = """() => { const gd = document.querySelector('#map-us .js-plotly-plot');
    const frame = gd.querySelector('.geo .bg').getBoundingClientRect();
    const box = loc => { const p = [...gd.querySelectorAll('path.choroplethlocation')].find(e => e.__data__.loc === loc);
        const r = p.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, r.width * r.height]; };
    return {frame: [frame.left, frame.top, frame.right, frame.bottom], ak: box('02'), hi: box('15')}; }"""


def inside(box, frame):
    return box[4] > 4 and box[0] >= frame[0] - 1 and box[1] >= frame[1] - 1 and box[2] <= frame[2] + 1 \
        and box[3] <= frame[3] + 1


@pytest.mark.browser
def test_page_draws_alaska_and_hawaii_in_frame_without_the_network(server, browser):
    with open_page(browser) as pg:
        goto_settled(pg, server + "/maps?year=2021&mx_source=sesnsp")
        pg.wait_for_function(JS_MAPS_DRAWN)
        types = pg.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(g => g._fullData.at(-1).type)")
        assert types == ["choropleth", "choropleth"]
        geo = pg.evaluate(JS_INSETS)
        assert inside(geo["ak"], geo["frame"]) and inside(geo["hi"], geo["frame"]), geo
        assert pg.locator("#map-mx-table tbody tr").count() == 32
        assert "2021" in pg.locator("#map-us-summary").inner_text()
        pg.rec.assert_clean()  # no request left the loopback interface, no console error


@pytest.mark.browser
def test_every_year_in_the_list_draws_and_the_url_follows(server, browser):
    with open_page(browser) as pg:
        goto_settled(pg, server + "/maps")
        for year in (2020, 2016, 2014):
            pg.click("#map-year")
            pg.locator(".dash-dropdown-option").filter(has=pg.get_by_text(str(year), exact=True)).first.click()
            pg.wait_for_function(f"() => location.search.includes('year={year}')")
            pg.wait_for_function(f"() => document.querySelector('#map-mx-summary').innerText.includes('{year}')")
            for key in ("us", "mx"):
                title = pg.evaluate(f"document.querySelector('#map-{key} .js-plotly-plot')._fullLayout.title.text")
                assert title.endswith(str(year)), (key, year, title)
            if year == 2014:  # INEGI draws 2014, CDC's map says it has nothing
                assert "No state figures" in pg.locator("#map-us").inner_text()
        pg.rec.assert_clean()
    with open_page(browser) as pg:  # the link reopens the same view
        goto_settled(pg, server + "/maps?year=2016&us_drug=synthetic_opioids")
        assert "Synthetic" in pg.locator("#map-us-heading").inner_text()
        assert "2016" in pg.locator("#map-us-heading").inner_text()


@pytest.mark.browser
def test_a_year_neither_map_draws_is_kept_listed_and_explained_in_the_browser(server, browser):
    with open_page(browser) as pg:  # an old link: 2024 has no state figures with the default series
        goto_settled(pg, server + "/maps?year=2024&lang=es")
        assert "hay cifras de 2000 a 2022" in pg.locator("#map-year-note").inner_text()
        assert "year=2024" in pg.url
    with open_page(browser) as pg:
        goto_settled(pg, server + "/maps?year=2005")
        pg.wait_for_function("() => document.querySelector('#map-mx-summary').innerText.includes('2005')")
        pg.get_by_label("SESNSP", exact=False).check()
        pg.wait_for_function("() => location.search.includes('sesnsp')")
        pg.wait_for_function("() => document.querySelector('#map-year-note').innerText.includes('from 2015 to 2024')")
        assert "year=2005" in pg.url
        pg.click("#map-year")
        listed = [x.strip() for x in pg.locator(".dash-dropdown-option").all_inner_texts()]
        assert listed[0] == "2024" and listed[-1] == "2005" and "2014" not in listed, listed
        pg.keyboard.press("Escape")
        pg.rec.assert_clean()


@pytest.mark.browser
def test_sorting_the_table_by_state(server, browser):
    with open_page(browser) as pg:
        goto_settled(pg, server + "/maps?year=2020")
        first = pg.locator("#map-us-table tbody tr").first.inner_text()
        top = maps.year_rates("us", "all_drugs", 2020).sort_values("value").iloc[-1]
        assert first.startswith(top["name"]), first  # highest rate first
        pg.click("#map-us-table th button >> text=State")
        pg.wait_for_function("() => location.search.includes('sort=name')")
        pg.wait_for_function("() => document.querySelector('#map-us-table tbody tr').innerText.startsWith('Alabama')")
        assert pg.get_attribute("#map-us-table thead th:first-child", "aria-sort") == "ascending"
        pg.rec.assert_clean()


@pytest.mark.browser
def test_svg_export_has_title_and_source_inside(server, browser, tmp_path):
    with open_page(browser) as pg:
        goto_settled(pg, server + "/maps?year=2022&lang=es")
        with pg.expect_download() as dl:
            pg.click("#map-mx-svg")
        path = tmp_path / dl.value.suggested_filename
        dl.value.save_as(path)
        svg = path.read_text(encoding="utf-8")
        assert path.name == "map-mx-2022.svg"
        assert "Homicidios (certificados de defunción, INEGI), 2022" in svg
        assert "INEGI" in svg and "CONAPO" in svg and "Tasas brutas" in svg
        pg.rec.assert_clean()


@pytest.mark.browser
def test_spanish_page_and_phone_width(server, browser):
    with open_page(browser, width=390, height=844) as pg:
        goto_settled(pg, server + "/maps?lang=es&year=2020")
        text = pg.locator("#_pages_content").inner_text()
        assert "Tasa por 100 mil al año" in text and "Estado" in text and "Descargar SVG" in text
        assert "Rate per 100k" not in text
        widths = pg.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths  # no sideways scrolling on a phone
        pg.rec.assert_clean()


def test_the_population_sources_latest_data_is_a_year_not_a_month():
    """The source line under the maps read "latest data Jan 2030" for yearly population figures."""
    from dashboard import components

    line = _text(components.provenance_line(["population"], "en"))
    assert "latest data 2030" in line and "Jan 2030" not in line
    assert "snapshot 2025-04-17 " in line + " "  # the bundled copy's id, without a same-day counter
    monthly = _text(components.provenance_line(["cdc_vsrr_overdose"], "es"))
    assert "datos más recientes ene 2026" in monthly
