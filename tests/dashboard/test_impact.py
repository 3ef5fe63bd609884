"""The Impact page on the real built data: the pure half (impact.run and its words), the URL
parameters, the catalogs, the calibration, and a browser test that the window drives the fit."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import pandas as pd
import pytest

from app import app  # noqa: F401  (registers pages)
from dashboard import components, impact
from dashboard.analysis import AnalysisError
from dashboard.i18n import catalog
from dashboard.pages import impact as page

ROOT = Path(__file__).resolve().parents[2]
SESNSP, INEGI = "sesnsp_homicide.homicidio_doloso", "inegi_homicide.homicides"
FENTANYL, CDC_SYNTH = "cbp_seizures.fentanyl_lbs", "cdc_vsrr_overdose.synthetic_opioids"


def test_cienfuegos_verdict_comes_first_reconciles_and_names_the_law():
    r = impact.run(SESNSP, "MX", "cienfuegos-arrest", window=12)
    assert r.verdict.code in ("none", "none_model_only")
    assert "foreign-agents-law" in r.verdict.overlaps[:1]  # the nearest other milestone, named first
    en, es = impact.verdict_text(r, "en"), impact.verdict_text(r, "es")
    assert en.startswith("No evidence of a change") and "of ordinary dates" in en
    assert "Mexico limits foreign agents" in en and "no donor pool" in en
    assert es.startswith("No hay evidencia de un cambio") and "México limita a los agentes extranjeros" in es
    share = f"{r.placebo.share:.0%}"
    assert share in en and r.placebo.n_placebos >= 19


def test_fit_and_counterfactual_use_only_the_chosen_window():
    r12 = impact.run(FENTANYL, "CBP-SWB", "security-dialogue", window=12)
    r24 = impact.run(FENTANYL, "CBP-SWB", "security-dialogue", window=24)
    for r, w in ((r12, 12), (r24, 24)):
        assert r.its.n_pre == w and r.its.n_post == w
        assert r.its.observed.index.min() == pd.Timestamp("2021-10-01") - pd.DateOffset(months=w)
        traces = {t["name"]: t for t in impact.impact_figure(r, "en")["data"]}
        cf = pd.DatetimeIndex(traces["Counterfactual: the model without the step"]["x"])
        assert cf.min() == pd.Timestamp("2021-11-01") and len(cf) == w  # the after window only
        assert pd.Timestamp(traces["Fitted before"]["x"][-1]) < pd.Timestamp("2021-10-01")
        band = traces["95% band of the counterfactual"]
        assert len(band["x"]) == 2 * w
    assert r12.its.change.pct != r24.its.change.pct
    assert r12.placebo.n_placebos != r24.placebo.n_placebos


def test_milestone_line_is_labelled_with_its_date_in_each_language():
    """The title names the milestone; the name on the line ran off a phone's chart, the date fits."""
    r = impact.run(FENTANYL, "CBP-SWB", "security-dialogue", window=12)
    en, es = (impact.impact_figure(r, lang)["layout"] for lang in ("en", "es"))
    assert [a["text"] for a in en["annotations"]] == ["<b>8 Oct 2021</b>"]
    assert [a["text"] for a in es["annotations"]] == ["<b>8 oct 2021</b>"]
    assert "Security Dialogue" in en["title"]["text"].replace("<br>", " ")


def test_southwest_fentanyl_counterfactual_stays_positive_and_local():
    r = impact.run(FENTANYL, "CBP-SWB", "security-dialogue", window=12)
    assert (r.its.counterfactual > 0).all() and (r.its.counterfactual_low > 0).all()
    observed_after = r.its.observed[r.its.observed.index >= r.its.windows.post_start]
    assert r.its.counterfactual.max() < 3 * observed_after.max()


def test_table_rows_in_both_languages():
    r = impact.run(SESNSP, "MX", "cienfuegos-arrest", window=12)
    en = impact.results_table(r, "en")
    assert list(en.columns) == ["measure", "estimate", "interval", "p"]
    measures = " ".join(en["measure"])
    assert "Level change at the milestone" in measures and "victims a month" in measures
    assert "Placebo dates" in measures and "Placebo in space" in measures
    es = impact.results_table(r, "es")
    assert "Cambio de nivel en el hito" in " ".join(es["measure"]) and "víctimas al mes" in " ".join(es["measure"])
    assert list(impact.table_headers("es").values()) == ["Medida", "Estimación", "Intervalo de 95%", "Valor p"]


def test_state_series_get_a_synthetic_control_with_pool_and_rank():
    r = impact.run(SESNSP, "MX-CHH", "cienfuegos-arrest", window=12)
    assert r.synth is not None and len(r.synth.donors) == 31 and "MX-CHH" not in r.synth.donors
    assert r.synth.weights.sum() == pytest.approx(1, abs=1e-3)
    assert 1 <= r.synth.rank <= r.synth.n_units == 32
    text = impact.verdict_text(r, "en")
    assert "synthetic Chihuahua" in text and f"ranking {r.synth.rank} of 32" in text
    weights = impact.synth_weights(r, "es")
    assert list(weights.columns) == ["donor", "weight"] and len(weights) >= 1


def test_cdc_rolling_sums_become_calendar_years_and_need_three_years_a_side():
    r = impact.run(CDC_SYNTH, "US", "dea-fentanyl-surge", window=36)
    assert r.conversion == "yoy" and r.its.frequency == "annual" and r.its.n_pre == 3
    assert any("calendar-year totals" in c for c in impact.caveats(r, "en"))
    with pytest.raises(AnalysisError) as err:
        impact.run(CDC_SYNTH, "US", "dea-fentanyl-surge", window=12)
    assert err.value.code == "too_few_points"
    assert "Elija una ventana más larga" in impact.error_text(err.value, "es")


def test_milestone_before_the_data_is_refused_with_words():
    with pytest.raises(AnalysisError) as err:
        impact.run(FENTANYL, "CBP-SWB", "merida-announced")
    assert err.value.code == "outside_range" and "outside the data" in impact.error_text(err.value, "en")


@pytest.mark.parametrize("query, notice", [
    ({"series": "nope"}, "series=nope"),
    ({"milestone": "1999"}, "milestone=1999"),
    ({"series": "sesnsp", "geo": "CBP-SWB"}, "Geography “CBP-SWB”"),
    ({"window": "7"}, "window=7"),
])
def test_bad_impact_parameters_fall_back_with_a_notice(query, notice):
    sel, notes = page.parse({**query, "lang": "en"})
    assert any(notice in n for n in notes)
    assert sel["series"] in impact.series_choices() and sel["geo"]


def test_old_links_open_the_same_view_and_spanish_is_accepted():
    sel, notes = page.parse({"series": "fentanyl_lbs", "geo": "CBP-SWB", "milestone": "security-dialogue",
                             "window": "12", "gap": "0", "x": "fentanyl_lbs", "y": "od_synthetic", "lang": "es"})
    assert notes == []
    assert sel == {"series": FENTANYL, "geo": "CBP-SWB", "milestone": "security-dialogue", "window": "12",
                   "gap": "0", "x": FENTANYL, "y": CDC_SYNTH, "lang": "es"}
    assert page.parse({"series": "sesnsp", "lang": "en"})[0]["geo"] == "MX"
    assert page.parse({"series": "inegi", "lang": "en"})[0]["series"] == INEGI
    _, notes = page.parse({"window": "7", "lang": "es"})
    assert notes and notes[0].startswith("El parámetro")


def test_series_choices_come_from_metadata_with_both_languages():
    choices = impact.series_choices()
    assert SESNSP in choices and FENTANYL in choices
    assert all(c.frequency not in ("irregular",) and c.unit != "persons" for c in choices.values())
    assert impact.series_label(SESNSP, "es").startswith("Víctimas de homicidio doloso")
    source = (ROOT / "dashboard" / "pages" / "impact.py").read_text(encoding="utf-8")
    assert not re.search(r"[\"'](sesnsp|inegi|cbp|cdc)_[a-z_]+[\"'.]", source)  # no source or series id in the page


def _keys_used() -> set[str]:
    keys = set()
    for path in ("dashboard/impact.py", "dashboard/pages/impact.py"):
        text = (ROOT / path).read_text(encoding="utf-8")
        keys |= set(re.findall(r"""t\(\s*["']((?:impact|analysis)\.[a-z0-9_.]+)["']""", text))
    return keys


def test_every_key_has_english_and_spanish_text():
    en, es = catalog("en"), catalog("es")
    mine = {k for k in en if k.startswith(("impact.", "analysis."))}
    assert mine == {k for k in es if k.startswith(("impact.", "analysis."))}
    assert _keys_used() <= mine
    for k in mine:  # the same placeholders in both languages
        assert set(re.findall(r"{(\w+)}", en[k])) == set(re.findall(r"{(\w+)}", es[k])), k
    verdicts = {k.split(".")[-1] for k in mine if k.startswith("impact.verdict.")}
    assert {"change_up", "change_down", "none", "none_model_only", "mixed", "untestable"} <= verdicts


def test_every_caveat_code_the_analyses_raise_is_worded():
    analysis = (ROOT / "dashboard" / "analysis").glob("*.py")
    codes = set()
    for path in analysis:
        codes |= set(re.findall(r"""note\(\s*f?["']([a-z_{}]+)["']""", path.read_text(encoding="utf-8")))
    readings = {"no_significant_lag", "peak"}  # the cross-correlation's reading, worded as analysis.xcorr.*
    codes = {c for c in codes if "{" not in c} - readings | {"seasonal_harmonic", "seasonal_none"}
    missing = [c for c in codes if f"analysis.warning.{c}" not in catalog("en")]
    assert missing == []


def test_cross_correlation_says_no_significant_lag():
    fig, warnings, reading = impact.xcorr(FENTANYL, "CBP-SWB", CDC_SYNTH, "US", "en")
    assert len(fig["data"][0]["x"]) == 49  # lags -24..+24
    assert reading.startswith("No significant lag") and "peak" not in reading.lower()
    spurious = [w for w in warnings if "spurious" in w]
    assert len(spurious) == 1  # the caveat once, naming each trending series with its ADF p
    assert spurious[0].count("ADF p =") == 2  # both series trend in the shipped data
    _, _, lectura = impact.xcorr(FENTANYL, "CBP-SWB", CDC_SYNTH, "US", "es")
    assert lectura.startswith("Ningún rezago significativo")


def test_source_discrepancy_flags_states_and_draws_mexico():
    fig, table, notes = impact.discrepancy("en")
    names = {t["name"] for t in fig["data"]}
    assert "Mexico" in names and len(fig["data"]) == 33
    assert len(table) > 0 and set(table.columns) >= {"state", "year", "ratio"}
    mx = next(t for t in fig["data"] if t["name"] == "Mexico")
    ratio_2020 = dict(zip(mx["customdata"], mx["y"]))[2020]
    assert {d.month for d in mx["x"]} == {1} and {d.day for d in mx["x"]} == {1}  # whole years on a date axis
    assert abs(ratio_2020 - 35787 / 34569) < 1e-9  # INEGI 35,787 / SESNSP 34,569
    fig_es, _, _ = impact.discrepancy("es")
    assert "México" in {t["name"] for t in fig_es["data"]}


def test_flagged_states_are_a_plain_table_with_headers_and_right_aligned_numbers():
    """Impact's tables are HTML tables (Dash is dropping DataTable): a header per column with
    scope for screen readers, numbers right-aligned and unbroken, prose in a numeric column left
    to wrap, a missing value as a dash, in a labelled box that scrolls sideways on a phone."""
    _, table, _ = impact.discrepancy("es")
    box = page.discrepancy_section("es")[2]
    grid = box.children
    assert box.className == "table-scroll" and box.role == "region" and box.tabIndex == 0
    assert grid.id == "disc-table" and "compact" in grid.className
    head, body = grid.children
    headers = [th.children for th in head.children.children]
    assert headers == [catalog("es")[f"impact.disc.col.{c}"] for c in table.columns]
    assert {th.scope for th in head.children.children} == {"col"}
    first = body.children[0].children
    assert [td.children for td in first] == list(table.iloc[0])
    assert first[0].className is None and {td.className for td in first[1:]} == {"num"}
    assert len(body.children) == len(table)

    prose = pd.DataFrame({"measure": ["Placebo dates", "Step"],  # synthetic: one sentence, one gap
                          "estimate": ["a step as large in 90% of them; rank 39 of 43", None]})
    cells = [r.children for r in components.frame_table(prose, {"measure": "M", "estimate": "E"},
                                                        table_id="t", label="L", numeric=("estimate",))
             .children.children[1].children]
    assert cells[0][1].className == "num-text" and (cells[1][1].children, cells[1][1].className) == ("—", "num")


def test_a_window_of_mostly_zeros_is_refused_in_the_readers_language_not_fitted():
    """Fentanyl seized between ports in the Coastal/Interior sector is 0 in 11 months of 12: the
    model ran to a step of +297,722% with an infinite bound, which crashed the page (500), or
    failed with statsmodels' English words on the Spanish page. Now it is refused, and says why."""
    usbp_ci = ("cbp_seizures.fentanyl_lbs_usbp", "CBP-CI")
    for milestone in ("lebaron-massacre", "security-dialogue"):
        with pytest.raises(AnalysisError) as err:
            impact.run(*usbp_ci, milestone, window=12, gap=0)
        assert err.value.code == "sparse_side" and err.value.params == {"nonzero": 1, "need": 6}
    update = getattr(page.update_impact, "__wrapped__", page.update_impact)
    verdict, _, table, *_ = update(*usbp_ci, "lebaron-massacre", "12", "0", "cbp_seizures.fentanyl_lbs",
                                   "cdc_vsrr_overdose.synthetic_opioids", "es")
    assert verdict.startswith("No se puede analizar esta selección: Valores por encima de cero") and table is None
    # Anything the library raises is worded for the reader, never in its own (English) words.
    assert impact.error_text(ValueError("NaN, inf or invalid value detected in weights"), "es") == \
        catalog("es")["impact.error.generic"]


def test_an_infinite_estimate_reads_as_a_dash_not_a_server_error():
    from dashboard.i18n import number, percent, shared_digits, signed_number, signed_percent
    for lang in ("en", "es"):  # synthetic: exp() of a wild estimate overflows to inf
        assert number(float("inf"), lang) == "—" and percent(float("-inf"), lang, 1) == "—"
        assert signed_percent(float("inf"), lang) == "—" and signed_number(float("nan"), lang) == "—"
    assert shared_digits([12.5, float("inf")]) == 1


def test_flag_styles_stay_distinct_past_the_palette():
    geos = [f"MX-{i:02d}" for i in range(20)]  # synthetic: more states than palette colours
    styles = impact.flag_styles(geos)
    assert len({(s["color"], s["dash"]) for s in styles.values()}) == 20
    assert styles["MX-00"]["dash"] == "solid" and styles["MX-07"]["dash"] == "dash"


def test_verdict_is_calibrated_on_real_ordinary_dates():
    """The rule claims a change at no more than 10% of ordinary dates, and finds +40% more often than +10%."""
    result = impact.calibration()
    s = result.summary.set_index(["group", "shift"])
    assert s.loc[("national", 0.0), "n"] >= 190
    assert s.loc[("national", 0.0), "rate"] <= 0.10 and s.loc[("states", 0.0), "rate"] <= 0.10
    assert s.loc[("national", 0.4), "rate"] > s.loc[("national", 0.1), "rate"]


# ---------------------------------------------------------------- browser

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
JS_FIG = """() => { const g = document.querySelector('#imp-figure .js-plotly-plot');
    if (!g || !g._fullData) return null;
    const cf = g._fullData.find(t => t.name && t.name.startsWith('Counterfactual'));
    const obs = g._fullData.find(t => t.name === 'Points in the windows');
    return cf && obs ? {cf: Array.from(cf.x).map(String), n_obs: obs.x.length} : null; }"""


@pytest.fixture(scope="module")
def server():
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def browser_page():
    assert Path(CHROMIUM).exists(), "no /usr/bin/chromium: the README's test command installs it"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        pg = b.new_page(viewport={"width": 1400, "height": 900})
        pg.set_default_timeout(30_000)
        errors = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.errors = errors
        yield pg
        b.close()


@pytest.mark.browser
def test_browser_changing_the_window_changes_the_fit_and_the_figure(browser_page, server):
    pg = browser_page
    pg.goto(server + "/impact?series=sesnsp&geo=MX&milestone=cienfuegos-arrest&window=12")
    pg.wait_for_function(JS_FIG)
    first = pg.evaluate(JS_FIG)
    verdict = pg.locator("#imp-verdict").inner_text()
    assert verdict.startswith("No evidence of a change") and len(first["cf"]) == 12 and first["n_obs"] == 24
    pg.locator("#imp-window").click()
    pg.locator(".dash-dropdown-option", has_text="24").first.click()
    # functions, not expressions: the app's Content-Security-Policy forbids eval
    pg.wait_for_function("() => window.location.search.includes('window=24')")
    pg.wait_for_function(f"() => {{ const f = ({JS_FIG})(); return f && f.cf.length === 24; }}")
    second = pg.evaluate(JS_FIG)
    assert second["n_obs"] == 48 and second["cf"][0] == first["cf"][0]
    assert pg.locator("#imp-results").inner_text() != "" and pg.locator("#imp-verdict").inner_text() != verdict
    assert pg.errors == []


@pytest.mark.browser
def test_browser_spanish_page(browser_page, server):
    pg = browser_page
    pg.goto(server + "/impact?series=sesnsp&geo=MX&milestone=foreign-agents-law&lang=es")
    pg.wait_for_selector("#imp-results")
    assert "¿Cambió algo?" in pg.locator("h2").first.inner_text()
    assert pg.locator("#imp-verdict").inner_text().startswith("No hay evidencia")
    assert "Medida" in pg.locator("#imp-results").inner_text()
    assert "no es válido" not in pg.locator("body").inner_text()
    assert pg.errors == []


def test_flagged_states_are_told_apart_and_titles_fit_a_phone():
    fig, _, _ = impact.discrepancy("en")
    flagged = [tr for tr in fig["data"] if tr["showlegend"] and tr["name"] != "Mexico"]
    assert len(flagged) >= 2
    styles = {(tr["line"]["color"], tr["line"]["dash"]) for tr in flagged}
    assert len(styles) == len(flagged)  # one red for all did not; nor may two share a colour and dash
    for f in (fig, impact.xcorr(FENTANYL, "CBP-SWB", CDC_SYNTH, "US", "es")[0]):
        lines = f["layout"]["title"]["text"].split("<br>")
        assert all(len(line) <= impact.TITLE_WRAP for line in lines)
        source = f["layout"]["title"]["subtitle"]["text"].split("<br>")
        assert all(len(line) <= impact.SOURCE_WRAP for line in source)
        assert f["layout"]["margin"]["t"] == 72 + 22 * (len(lines) - 1) + 13 * (len(source) - 1)
    assert fig["layout"]["legend"]["orientation"] == "h"  # under the chart, not beside it


@pytest.mark.parametrize("lang", ["en", "es"])
def test_caveats_write_p_values_as_the_table_does(lang):
    """The caveats said "Ljung–Box p = 0.00" beside the table's "< 0.001"."""
    tiny = impact.note_text(("autocorrelated", {"lb_p": 0.00004}), lang)
    assert "Ljung–Box p <\u00a00.001" in tiny and "0.00)" not in tiny
    assert "Ljung–Box p =\u00a00.012" in impact.note_text(("autocorrelated", {"lb_p": 0.0123}), lang)
    assert "ADF p =\u00a00.360" in impact.note_text(("trending", {"series": "X", "adf_p": 0.36}), lang)


def test_numbers_read_together_in_the_table_share_one_precision():
    """Real data (the default view): the table wrote "882.2" beside "1,261", and "−112.4 to +8.85"."""
    r = impact.run(FENTANYL, "CBP-SWB", "security-dialogue", window=12)
    table = impact.results_table(r, "en")

    def decimals(text):
        return {len(n.split(".")[1]) if "." in n else 0 for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}

    means = " ".join(table["estimate"].iloc[:2]) + " " + table["estimate"].iloc[2].split(" (")[0]
    assert len(decimals(means)) == 1, means
    step = table.iloc[4]
    assert len(decimals(step["estimate"] + " " + step["interval"])) == 1, step.to_dict()


@pytest.mark.parametrize("series, geo, milestone", [(FENTANYL, "CBP-SWB", "security-dialogue"),
                                                    (SESNSP, "MX", "cienfuegos-arrest")])
def test_the_answer_mentions_a_bend_the_table_shows_as_significant(series, geo, milestone):
    """Real data: "No evidence of a change" sat over a table row reading "+257.5%, p < 0.001"
    (the bending model, not used in the answer); the answer now says so, and why."""
    from dashboard.analysis.verdict import ALPHA

    r = impact.run(series, geo, milestone, window=12)
    text = impact.verdict_text(r, "en")
    significant = r.its.bend is not None and r.its.bend.p_value < ALPHA
    assert ("A second model, which lets the trend bend" in text) == significant
    if significant:
        row = impact.results_table(r, "en").set_index("measure").filter(like="growth rate", axis=0).iloc[0]
        p = row["p"].replace("\u00a0", " ")
        assert f"at {row['estimate']} (p {p if p.startswith('<') else '= ' + p})" in text.replace("\u00a0", " ")
        assert "cambie de pendiente" in impact.verdict_text(r, "es")


def test_the_cross_correlation_axis_title_wraps_to_fit_a_phone():
    """Real data, Spanish: "rezago k en meses (k > 0: la primera serie anticipa k meses)" ran off
    both sides of a 390 px chart."""
    fig, _, _ = impact.xcorr(FENTANYL, "CBP-SWB", CDC_SYNTH, "US", "es")
    lines = fig["layout"]["xaxis"]["title"]["text"].split("<br>")
    assert len(lines) >= 2 and max(len(x) for x in lines) <= impact.XTITLE_WRAP
