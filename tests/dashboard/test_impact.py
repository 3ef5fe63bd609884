"""The Impact page's pure half, on the real built data."""

import pandas as pd
import pytest

from app import app  # noqa: F401  (registers pages)
from dashboard import impact
from dashboard.pages import impact as page


def test_security_dialogue_vs_southwest_fentanyl_gives_estimates_and_caveats():
    r = impact.run("fentanyl_lbs", "CBP-SWB", "security-dialogue", window=12)
    measures = list(r.table["measure"])
    assert any(m.startswith("Level change") for m in measures)
    assert any(m.startswith("Slope change") for m in measures)
    assert any(m.startswith("Placebo") for m in measures)
    assert any("not proof" in c for c in r.caveats)
    # the counterfactual starts at the milestone and the fitted pre-segment ends before it
    traces = {t["name"]: t for t in r.figure["data"]}
    assert pd.Timestamp(traces["Fitted before"]["x"][-1]) < pd.Timestamp("2021-10-08")
    assert pd.Timestamp(traces["Counterfactual (pre-trend extended)"]["x"][0]) >= pd.Timestamp("2021-10-01")


def test_cdc_rolling_sums_are_converted_to_calendar_years_and_say_so():
    r = impact.run("od_synthetic", "US", "dea-fentanyl-surge")
    assert r.conversion == "yoy"
    assert "overlap" in r.caveats[0]


def test_milestone_before_the_data_is_refused_with_a_message():
    with pytest.raises(ValueError):
        impact.run("fentanyl_lbs", "CBP-SWB", "merida-announced")


@pytest.mark.parametrize("query, notice", [
    ({"series": "nope"}, "series=nope"),
    ({"milestone": "1999"}, "milestone=1999"),
    ({"series": "sesnsp", "geo": "CBP-SWB"}, "Geography 'CBP-SWB'"),
    ({"window": "7"}, "window=7"),
])
def test_bad_impact_parameters_fall_back_with_a_notice(query, notice):
    sel, notes = page.parse(query)
    assert any(notice in n for n in notes)
    assert sel["series"] in impact.SERIES and sel["geo"]


def test_cross_correlation_reads_its_peak_and_warns_about_trends():
    fig, warnings, reading = impact.xcorr("fentanyl_lbs", "CBP-SWB", "od_synthetic", "US")
    assert len(fig["data"][0]["x"]) == 49  # lags -24..+24
    assert "x leads y" in reading
    assert any("spurious" in w for w in warnings)


def test_source_discrepancy_flags_states_and_draws_mexico():
    fig, table, notes = impact.discrepancy()
    names = {t["name"] for t in fig["data"]}
    assert "Mexico" in names and len(fig["data"]) == 33
    assert len(table) > 0 and set(table.columns) >= {"state", "year", "ratio"}
    # the national ratio 2020: INEGI 35,787 / SESNSP 34,569
    mx = next(t for t in fig["data"] if t["name"] == "Mexico")
    ratio_2020 = dict(zip(mx["x"], mx["y"]))[2020]
    assert abs(ratio_2020 - 35787 / 34569) < 1e-9
