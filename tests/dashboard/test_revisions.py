"""The Revisions page's pure half, on the real CDC VSRR vintages."""

import pandas as pd
import pytest

from app import app  # noqa: F401  (registers pages)
from dashboard import revisions
from dashboard.i18n import signed_number, signed_percent
from dashboard.pages import revisions as page
from etl.vintages import revisions as etl_revisions

SEP_2018 = pd.Timestamp("2018-09-01")


def test_vintages_are_the_three_cdc_snapshots():
    assert revisions.vintages() == ["2017-12-16", "2019-04-24", "2026-06-27"]
    keys = revisions.series_keys()
    assert {"all_drugs", "synthetic_opioids", "heroin", "cocaine", "psychostimulants"} <= set(keys)
    assert not any(k.endswith("_predicted") for k in keys)


def test_us_all_drugs_revision_table_matches_etl_revisions():
    table = revisions.revision_table(revisions.revision_rows("all_drugs", "US"))
    assert list(table["date"]) == list(pd.date_range("2015-01-01", "2018-09-01", freq="MS"))
    assert [c for c in table if c.startswith("as of")] == ["as of 2017-12-16", "as of 2019-04-24", "as of 2026-06-27"]
    sep = table.set_index("date").loc[SEP_2018]
    assert sep["as of 2019-04-24"] == 67152 and sep["as of 2026-06-27"] == 68421
    assert pd.isna(sep["as of 2017-12-16"])
    # every cell and every total revision agrees with etl.vintages.revisions()
    rev = etl_revisions("cdc_vsrr_overdose.all_drugs", "US").dropna(subset=["value"])
    for row in table.itertuples(index=False):
        rows = rev[rev["date"] == row.date].sort_values("vintage")
        for vintage, value in zip(rows["vintage"], rows["value"]):
            assert table.loc[table["date"] == row.date, f"as of {vintage}"].iloc[0] == value
        assert row.revision == rows["value"].iloc[-1] - rows["value"].iloc[0] == rows["revision"].sum()
        assert row.pct_revision == pytest.approx(100 * row.revision / rows["value"].iloc[0])


def test_summary_sentence_is_computed_for_the_latest_shared_month():
    rev = revisions.revision_rows("all_drugs", "US")
    assert revisions.summary(rev) == ("Between the 2019-04-24 and 2026-06-27 vintages, the 12 months ending Sep 2018 "
                                      "were revised from 67,152 to 68,421 (+1.9%).")
    assert revisions.summary(rev[rev["vintage"] == "2026-06-27"]) == ""


@pytest.mark.parametrize("as_of, vintage, last", [
    ("2017-12-16", "2017-12-16", "2017-05-01"),
    ("2019-04-23", "2017-12-16", "2017-05-01"),
    ("2019-04-24", "2019-04-24", "2018-09-01"),
    ("2030-01-01", "2026-06-27", "2025-08-01"),
])
def test_as_of_picks_the_newest_vintage_on_or_before_the_date(as_of, vintage, last):
    view = revisions.as_of_view("all_drugs", "US", as_of)
    assert view.vintage == vintage
    assert view.frame["date"].max() == pd.Timestamp(last)
    assert vintage in view.message


def test_as_of_before_the_oldest_vintage_says_so():
    view = revisions.as_of_view("all_drugs", "US", "2016-06-30")
    assert view.vintage is None and view.frame.empty
    assert "oldest vintage is 2017-12-16" in view.message
    r = revisions.build("all_drugs", "US", "2016-06-30")
    assert len(r.figure["data"]) == 3  # the vintages are still drawn, without an as-of line


def test_figure_has_one_line_per_vintage_newest_dark_and_solid_plus_the_as_of_highlight():
    r = revisions.build("all_drugs", "US", "2019-05-01")
    traces = {t["name"]: t for t in r.figure["data"]}
    assert set(traces) == {"as of 2017-12-16", "as of 2019-04-24", "as of 2026-06-27",
                           "known on 2019-05-01 (2019-04-24 vintage)"}
    assert traces["as of 2026-06-27"]["line"]["dash"] == "solid"
    assert traces["as of 2017-12-16"]["line"]["dash"] == "dot"
    assert len(traces["known on 2019-05-01 (2019-04-24 vintage)"]["x"]) == 45
    assert r.figure["data"][-1]["name"] == "as of 2026-06-27"  # drawn on top
    # zoomed to where the old vintages overlap, and the figure says so (the latest runs to Aug 2025)
    source = r.figure["layout"]["title"]["subtitle"]["text"].replace("<br>", " ")
    assert "Zoomed to Jan 2015 – Sep 2019" in source and "(to Aug 2025)" in source


def test_as_of_a_vintages_own_date_names_the_date_once():
    names = {t["name"] for t in revisions.build("all_drugs", "US", "2026-06-27").figure["data"]}
    assert "known on 2026-06-27" in names and not any("vintage)" in n for n in names)
    es = {t["name"] for t in revisions.build("all_drugs", "US", "2026-06-27", "es").figure["data"]}
    assert "conocida el 2026-06-27" in es


def test_series_in_only_one_vintage_gets_a_note():
    r = revisions.build("all_opioids", "US-CT", "2026-06-27")
    assert r.notes and "Only the 2019-04-24 vintage" in r.notes[0]
    assert r.table.empty and r.summary == ""
    assert revisions.build("all_drugs", "US", "2026-06-27").notes == []


@pytest.mark.parametrize("query, notice", [
    ({"series": "nope"}, "series=nope"),
    ({"series": "all_drugs_predicted"}, "series=all_drugs_predicted"),
    ({"geo": "MX-SON"}, "geo=MX-SON"),
    ({"as_of": "yesterday"}, "as_of=yesterday"),
    ({"as_of": "2019-02-30"}, "as_of=2019-02-30"),
    ({"bogus": "1"}, "bogus=1"),
])
def test_bad_revisions_parameters_fall_back_with_a_notice(query, notice):
    sel, notes = page.parse(query)
    assert len(notes) == 1
    key, params = notes[0]
    assert f"{params['param']}={params['value']}" == notice
    assert sel == page.defaults()


def test_good_parameters_pass_through():
    sel, notes = page.parse({"series": "heroin", "geo": "US-NYC", "as_of": "2018-06-01"})
    assert notes == [] and sel == {"series": "heroin", "geo": "US-NYC", "as_of": "2018-06-01"}
    sel, notes = page.parse({"series": "heroin", "lang": "es"})  # lang is accepted beside the old parameters
    assert notes == [] and sel["series"] == "heroin"


def test_spanish_summary_table_and_figure_use_the_catalog_and_locale_numbers():
    rev = revisions.revision_rows("all_drugs", "US")
    assert revisions.summary(rev, "es") == ("Entre las versiones del 2019-04-24 y del 2026-06-27, los 12 meses a sep 2018 "
                                            "se revisaron de 67,152 a 68,421 (+1.9%).")
    r = revisions.build("all_drugs", "US", "2019-05-01", "es")
    names = {t["name"] for t in r.figure["data"]}
    assert "versión del 2026-06-27" in names and "conocida el 2019-05-01 (versión del 2019-04-24)" in names
    assert "Estados Unidos" in r.figure["layout"]["title"]["text"]
    assert r.as_of.message.startswith("Como se conocía el 2019-05-01") and "sep 2018" in r.as_of.message
    html_table = page.table_component(r.table, "es")
    first_row = html_table.children[2].children[0].children
    assert first_row[0].children == "sep 2018" and first_row[-2].children == "+1,269"
    assert revisions.series_keys("es")["heroin"] == "Muertes por sobredosis con heroína"


def test_signed_numbers_never_show_minus_zero():
    assert signed_percent(-0.0003, "en") == "0.0%" and signed_number(-0.2, "en", 0) == "0"
    assert signed_percent(0.0194, "en") == "+1.9%" and signed_number(-178, "en", 0) == "−178"


# The headline describes the revisions known on the as-of date: a later vintage's revision was not.
MAY_2017 = ("Between the 2017-12-16 and 2019-04-24 vintages, the 12 months ending May 2017 were revised from 66,324 "
            "to 68,370 (+3.1%).")
SEP_2018_SENTENCE = ("Between the 2019-04-24 and 2026-06-27 vintages, the 12 months ending Sep 2018 were revised from "
                     "67,152 to 68,421 (+1.9%).")


@pytest.mark.parametrize("as_of, sentence", [
    ("2016-06-30", "By 2016-06-30 no vintage had been published: no month had been revised yet."),
    ("2017-12-16", "By 2017-12-16 only the 2017-12-16 vintage had been published: no month had been revised yet."),
    ("2019-04-23", "By 2019-04-23 only the 2017-12-16 vintage had been published: no month had been revised yet."),
    ("2019-04-24", MAY_2017),
    ("2020-01-01", MAY_2017),
    ("2026-06-26", MAY_2017),
])
def test_headline_before_the_newest_vintage_compares_only_the_vintages_published_by_then(as_of, sentence):
    assert revisions.build("all_drugs", "US", as_of).summary == sentence


@pytest.mark.parametrize("as_of", ["2026-06-27", "2030-01-01"])
def test_headline_at_or_after_the_newest_vintage_is_unchanged(as_of):
    rev = revisions.revision_rows("all_drugs", "US")
    assert revisions.summary(rev, "en", as_of) == revisions.summary(rev) == SEP_2018_SENTENCE
    assert revisions.build("all_drugs", "US", as_of).summary == SEP_2018_SENTENCE


@pytest.mark.parametrize("as_of, sentence", [
    ("2017-12-16", "Al 2017-12-16 solo se había publicado la versión del 2017-12-16: todavía no se había revisado "
                   "ningún mes."),
    ("2016-06-30", "Al 2016-06-30 aún no se había publicado ninguna versión: todavía no se había revisado ningún mes."),
    ("2020-01-01", "Entre las versiones del 2017-12-16 y del 2019-04-24, los 12 meses a may 2017 se revisaron de "
                   "66,324 a 68,370 (+3.1%)."),
    ("2026-06-27", "Entre las versiones del 2019-04-24 y del 2026-06-27, los 12 meses a sep 2018 se revisaron de "
                   "67,152 a 68,421 (+1.9%)."),
])
def test_spanish_headline_as_of_a_date(as_of, sentence):
    assert revisions.build("all_drugs", "US", as_of, "es").summary == sentence
    assert revisions.summary(revisions.revision_rows("all_drugs", "US"), "es", as_of) == sentence


def test_headline_when_the_vintages_published_by_then_share_no_month_of_the_series():
    # US all opioids: in the 2019-04-24 and 2026-06-27 vintages only, so on 2020-01-01 nothing was revised yet
    assert revisions.build("all_opioids", "US", "2020-01-01").summary == (
        "By 2020-01-01 the 2017-12-16 and 2019-04-24 vintages had been published, but they had no month of this "
        "series in common here: no month had been revised yet.")
    assert revisions.build("all_opioids", "US", "2020-01-01", "es").summary == (
        "Al 2020-01-01 se habían publicado las versiones del 2017-12-16 y 2019-04-24, pero no tenían ningún mes de "
        "esta serie en común aquí: todavía no se había revisado ningún mes.")
    assert revisions.build("all_opioids", "US", "2026-06-27").summary.startswith("Between the 2019-04-24 and 2026-06-27")
    # a series never revised has no headline on any date (its note says why), as on the newest vintage
    assert revisions.build("all_opioids", "US-CT", "2019-05-01").summary == ""


def test_the_table_keeps_every_vintage_whatever_the_as_of_date_like_the_figure():
    early, late = revisions.build("all_drugs", "US", "2017-12-16"), revisions.build("all_drugs", "US", "2026-06-27")
    assert early.table.equals(late.table) and len(early.figure["data"]) == len(late.figure["data"]) == 4
