"""ViewState -> panels, on the real built data (read through the ETL read API via dashboard.store)."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from dashboard import store, views
from dashboard.state import DEFAULT


@pytest.fixture(scope="module")
def default_panels():
    return views.build_panels(DEFAULT)


def test_deaths_panel_us_default_has_two_real_lines(default_panels):
    deaths = default_panels[0]
    assert deaths.key == "deaths"
    assert [line.name for line in deaths.lines] == [views.DEATH_LABELS["all_drugs"],
                                                   views.DEATH_LABELS["synthetic_opioids"]]
    assert "United States" in deaths.title
    assert deaths.sources == ["cdc_vsrr_overdose"]
    for line in deaths.lines:
        assert len(line.frame) > 50
        assert line.frame["date"].min() >= pd.Timestamp(DEFAULT.start)
        assert line.period_prefix == "12 months ending "
    all_drugs = deaths.lines[0].frame.set_index("date")["value"]
    raw = store.series("cdc_vsrr_overdose.all_drugs", "US").set_index("date")["value"]
    assert all_drugs[pd.Timestamp("2020-12-01")] == raw[pd.Timestamp("2020-12-01")] == 92478
    assert any("12 months ending" in n for n in deaths.notes)


def test_default_panels_all_have_data(default_panels):
    assert [p.key for p in default_panels] == ["deaths", "homicides", "seizures"]
    assert [len(p.lines) for p in default_panels] == [2, 2, 1]


def test_per100k_for_cbp_gives_note_and_counts():
    s = replace(DEFAULT, transform="per100k")
    seizures = views.seizures_panel(s)
    assert any("Per 100k is not meaningful" in n for n in seizures.notes)
    frame = seizures.lines[0].frame
    assert (frame["value"] == frame["raw"]).all()  # counts, untouched
    assert set(views.displayed_data([seizures])["transform"]) == {"counts"}
    assert seizures.y_label == "lbs"
    deaths = views.deaths_panel(s)  # ...while deaths become a rate
    assert deaths.y_label.startswith("per 100k")
    rate = deaths.lines[0].frame["value"].dropna()  # years past the population table have no rate
    assert len(rate) > 50 and (rate < 1000).all()


def test_per100k_state_rate_is_counts_over_population():
    s = replace(DEFAULT, us_geo="US-AZ", transform="per100k", drugs=("all_drugs",))
    line = views.deaths_panel(s).lines[0]
    row = line.frame.iloc[10]
    pop = store.population("US-AZ")[row["date"].year]
    assert row["value"] == pytest.approx(row["raw"] / pop * 1e5)


def test_index_at_milestone_is_100_at_milestone_month():
    s = replace(DEFAULT, transform="index", index_at="security-dialogue")
    frame = views.deaths_panel(s).lines[0].frame
    # the milestone (2021-10-08) falls in the month dated 2021-10-01: that month is the base
    assert frame.loc[frame["date"] == pd.Timestamp("2021-10-01"), "value"].item() == pytest.approx(100.0)


def test_no_data_gives_note_not_error():
    s = replace(DEFAULT, mx_geo="MX-CHH", mx_sources=("inegi",), start="2030-01-01")
    panel = views.homicides_panel(s)
    assert all(line.frame.empty for line in panel.lines)


def _synthetic_panel(series: dict[str, list]) -> views.Panel:
    """A panel of synthetic series (name -> values on consecutive months), for known answers."""
    panel = views.Panel("synthetic", "Synthetic", "u")
    for name, values in series.items():
        frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=len(values), freq="MS"),
                              "value": values, "raw": values, "flag": [None] * len(values)})
        panel.shown.append(views.Shown(f"synthetic.{name}", name, "X", frame, "u", "monthly", "synthetic", "counts"))
    return panel


def test_change_table_first_last_change_synthetic():
    t = views.change_table([_synthetic_panel({"A": [10.0, None, 15.0, None], "B": [0.0, 5.0], "C": [None]})])
    t = t.set_index("series")
    assert list(t.index) == ["A", "B"]  # all-missing C has no row
    assert t.loc["A", "first"] == 10 and t.loc["A", "last"] == 15 and t.loc["A", "change"] == 5
    assert t.loc["A", "first_date"] == "2020-01-01" and t.loc["A", "last_date"] == "2020-03-01"
    assert t.loc["A", "change_pct"] == pytest.approx(50.0)
    assert pd.isna(t.loc["B", "change_pct"])  # from zero: no percent
    assert t.loc["B", "change"] == 5
    assert list(views.change_table([]).columns)[:3] == ["series", "geo_name", "unit"]


def test_change_table_on_real_data(default_panels):
    shown = views.displayed_data(default_panels)
    t = views.change_table(default_panels)
    assert len(t) == 5
    row = t[t["series"] == views.DEATH_LABELS["all_drugs"]].iloc[0]
    g = shown[(shown["series"] == row["series"])].dropna(subset=["value"])
    assert row["first"] == g["value"].iloc[0] and row["last"] == g["value"].iloc[-1]
    assert row["first_date"] == g["date"].iloc[0] and row["last_date"] == g["date"].iloc[-1]
    assert row["change"] == pytest.approx(row["last"] - row["first"])


def test_download_name_has_geos_transform_version():
    s = replace(DEFAULT, us_geo="US-AZ", mx_geo="MX-CHH", cbp_geo="US", transform="per100k", rolling=3)
    name = views.download_name(s, "abc123def456")
    for part in ("US-AZ", "MX-CHH", "US", "per100k", "roll3", "abc123def456"):
        assert part in name.split("_")
    assert name.startswith("xborder_") and name.endswith("_abc123def456")
    assert views.download_name(DEFAULT, "v1") == "xborder_US_MX_CBP-SWB_counts_v1"


def test_data_version_is_stable_and_depends_on_sources():
    a = store.data_version(["cdc_vsrr_overdose", "cbp_seizures"])
    assert a == store.data_version(["cbp_seizures", "cdc_vsrr_overdose", "cbp_seizures"])
    assert a != store.data_version(["cdc_vsrr_overdose"])
    assert len(a) == 12


def test_displayed_data_has_provenance(default_panels):
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
    assert set(rolled["transform"]) == {"index, 3-month mean"}


def test_x_range_ends_at_latest_displayed(default_panels):
    start, end = views.x_range(DEFAULT, default_panels)
    assert start == DEFAULT.start
    assert end == views.displayed_data(default_panels)["date"].max()
    assert views.x_range(replace(DEFAULT, end="2022-01-01"), default_panels) == (DEFAULT.start, "2022-01-01")


def _default_control_values(home) -> dict:
    values = {cid: getattr(DEFAULT, name) for cid, name in home.CONTROLS.items()}
    values = {k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items()}
    for flag in home.FLAG_CONTROLS:
        values[flag] = []
    return values


def _figure_traces(fig) -> list:
    return list(fig["data"] if isinstance(fig, dict) else fig.data)


def test_state_from_controls_default_and_callback_outputs(home):
    values = _default_control_values(home)
    assert home.state_from_controls(values) == DEFAULT
    out = home.update_timeline(*values.values())
    for fig in out[:3]:  # the three panel figures come first
        assert any(t["name"] != "Policy milestones" for t in _figure_traces(fig))
    assert "" in out  # the view query of the default view is empty
    assert any(isinstance(o, str) and o.startswith("data version ") for o in out)


def test_callback_survives_bad_free_text_dates(home):
    """The From/To boxes are free text; a typo falls back to the default instead of breaking the callback."""
    values = _default_control_values(home)
    values["end"] = "2024-13-45"
    values["start"] = "garbage"
    assert home.state_from_controls(values) == DEFAULT
    out = home.update_timeline(*values.values())
    assert len(_figure_traces(out[0])) > 1


def test_cleared_start_box_keeps_data(home):
    """Clearing the From box must not give start='NaT' (which would empty every chart)."""
    values = _default_control_values(home)
    values["start"] = ""
    assert home.state_from_controls(values).start == DEFAULT.start
    out = home.update_timeline(*values.values())
    assert any(len(t["x"]) > 50 for t in _figure_traces(out[0]) if t["name"] != "Policy milestones")


def test_bad_milestone_edit_keeps_last_good_list_and_says_why(tmp_path, monkeypatch):
    """A user's broken edit of the registry must not take the dashboard down."""
    import shutil

    from dashboard import store
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


def test_firearm_share_is_firearm_victims_over_all_victims_for_the_dates_shown():
    from dataclasses import replace as _replace

    from dashboard import views as _views
    from dashboard.state import DEFAULT as _DEFAULT

    share = _views.firearm_share(_replace(_DEFAULT, firearm=True, start="2020-01-01", end="2020-12-01"))
    assert share == pytest.approx(24415 / 34569)  # SESNSP 2020: firearm victims / homicidio doloso victims
    panel = _views.homicides_panel(_replace(_DEFAULT, firearm=True, start="2020-01-01", end="2020-12-01"))
    assert any("Firearms were used in 71%" in n for n in panel.notes)


def test_text_summary_states_first_last_and_peak_in_plain_numbers():
    from dashboard import views as _views
    from dashboard.state import DEFAULT as _DEFAULT

    text = _views.text_summary(_views.deaths_panel(_DEFAULT))
    assert text.startswith("All drug overdoses: 47,523 (12 months ending Jan 2015)")  # CDC provisional
    assert "12 months ending" in text and "highest" in text and "e+" not in text


@pytest.mark.parametrize("path", ["/", "/impact", "/maps", "/revisions", "/sources"])
def test_pages_without_built_data_say_what_to_do_instead_of_failing(path, tmp_path, monkeypatch):
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

    from dashboard import store as _store

    p = _store.provenance("cdc_vsrr_overdose", now=datetime.fromisoformat(now).replace(tzinfo=timezone.utc))
    assert p["snapshot"] == "2026-06-27" and p["stale"] is stale
