"""goc_index: PROVENANCE headline scores, columns matched across editions, region means, the fetcher.

fixtures/goc_index_excerpt.xlsx is a real excerpt of the seed workbook: its title sheet and, for
each of the three <year>_dataset sheets, all 193 rows of the columns Continent, Region, Country,
the criminality and resilience averages, arms trafficking, financial crimes (2023 and 2025) and
anti-money laundering, with each sheet's own header spelling ('Criminality avg,' in 2021,
'Resilience avg,' in 2023, 'Resilience' in 2021) and column order.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import etl.pipeline
import etl.registry
import etl.snapshot
from etl.errors import ParseError
from etl.reference import geo_table

SID = "goc_index"
FIXTURE = Path(__file__).parent / "fixtures" / "goc_index_excerpt.xlsx"
YEARS = (2021, 2023, 2025)
NEW_IN_2023 = {"market_extortion_protection_racketeering", "market_counterfeit_goods", "market_illicit_excisable_goods",
               "market_cyber_dependent_crimes", "market_financial_crimes", "actors_private_sector"}

# PROVENANCE.md "Headline values": edition -> Mexico (criminality, rank; markets, rank; resilience; arms; synthetic
# drugs; anti-money laundering) and United States (criminality, resilience)
HEADLINES = {
    2021: ((7.56, 4), (8.00, 1), 4.46, 8.0, 9.0, 4.0, (5.50, 6.58)),
    2023: ((7.57, 3), (8.13, 1), 4.21, 8.5, 9.0, 4.0, (5.67, 7.13)),
    2025: ((7.68, 3), (8.27, 1), 4.50, 9.0, 9.0, 4.5, (5.87, 6.96)),
}


def module():
    return etl.registry.get_source(SID).module


def score(df: pd.DataFrame, indicator: str, geo: str, year: int) -> float:
    row = df[(df["series_id"] == f"{SID}.{indicator}") & (df["geo"] == geo) & (df["date"] == pd.Timestamp(year, 1, 1))]
    assert len(row) == 1, (indicator, geo, year)
    return row["value"].iloc[0]


def countries(df: pd.DataFrame) -> pd.DataFrame:
    kinds = geo_table().set_index("geo")["kind"]
    return df[df["geo"].map(kinds) == "country"]


def rank(df: pd.DataFrame, indicator: str, geo: str, year: int) -> int:
    rows = countries(df)
    rows = rows[(rows["series_id"] == f"{SID}.{indicator}") & (rows["date"].dt.year == year)]
    return int((rows["value"] > score(df, indicator, geo, year)).sum()) + 1


def snapshot_of(tmp_path: Path, content: bytes) -> etl.snapshot.Snapshot:
    (tmp_path / "global_oc_index.xlsx").write_bytes(content)
    entry = {"name": "global_oc_index.xlsx", "url": "https://test.invalid/global_oc_index.xlsx",
             "md5": hashlib.md5(content).hexdigest()}
    return etl.snapshot.Snapshot(SID, tmp_path, {"files": [entry]})


def edited(mutate) -> bytes:
    """The fixture workbook after ``mutate(workbook)``."""
    wb = openpyxl.load_workbook(FIXTURE)
    mutate(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("year", YEARS)
def test_provenance_headlines(table, year):
    (crim, crim_rank), (markets, markets_rank), resilience, arms, synthetic, aml, (us_crim, us_res) = HEADLINES[year]
    assert score(table, "criminality", "MX", year) == pytest.approx(crim)
    assert rank(table, "criminality", "MX", year) == crim_rank
    assert score(table, "criminal_markets", "MX", year) == pytest.approx(markets)
    assert rank(table, "criminal_markets", "MX", year) == markets_rank  # the highest of the 193 in every edition
    assert score(table, "resilience", "MX", year) == pytest.approx(resilience)
    assert score(table, "market_arms_trafficking", "MX", year) == pytest.approx(arms)
    assert score(table, "market_synthetic_drug_trade", "MX", year) == pytest.approx(synthetic)
    assert score(table, "resilience_anti_money_laundering", "MX", year) == pytest.approx(aml)
    assert score(table, "criminality", "US", year) == pytest.approx(us_crim)
    assert score(table, "resilience", "US", year) == pytest.approx(us_res)


def test_countries_ahead_of_mexico_on_criminality(table):
    # PROVENANCE: behind DR Congo, Colombia and Myanmar in 2021; behind Myanmar and Colombia in 2023 and 2025.
    for year, ahead in {2021: {"CD", "CO", "MM"}, 2023: {"MM", "CO"}, 2025: {"MM", "CO"}}.items():
        rows = countries(table)
        rows = rows[(rows["series_id"] == f"{SID}.criminality") & (rows["date"].dt.year == year)]
        assert set(rows.loc[rows["value"] > score(table, "criminality", "MX", year), "geo"]) == ahead


def test_193_countries_per_edition_all_in_geo_reference(table):
    ref = geo_table().set_index("geo")
    per_year = countries(table).groupby(table["date"].dt.year)["geo"].nunique()
    assert per_year.to_dict() == {y: 193 for y in YEARS}
    assert set(table["geo"]) <= set(ref.index)
    assert (ref.loc[sorted(set(countries(table)["geo"])), "country"] == sorted(set(countries(table)["geo"]))).all()
    assert set(table["date"]) == {pd.Timestamp(y, 1, 1) for y in YEARS}


def test_columns_matched_by_name_across_editions(table):
    indicators = table.groupby(table["date"].dt.year)["series_id"].nunique().to_dict()
    assert indicators == {2021: 30, 2023: 36, 2025: 36}
    present_2021 = {s.split(".", 1)[1] for s in table.loc[table["date"].dt.year == 2021, "series_id"]}
    assert not present_2021 & NEW_IN_2023
    # 'Criminality avg,' / 'Criminal markets avg,' / 'Criminal actors' / 'Resilience' (2021) and 'Resilience avg,' (2023)
    for indicator in ("criminality", "criminal_markets", "criminal_actors", "resilience"):
        assert all(score(table, indicator, "MX", y) > 0 for y in YEARS)
    assert score(table, "market_financial_crimes", "MX", 2025) > 0
    assert set(table["series_id"]) == set(etl.registry.get_source(SID).meta.series_by_id())


@pytest.mark.parametrize("header, expected", [
    ("Criminality avg,", "criminality"), ("Criminality avg.", "criminality"), ("Criminal markets avg,", "criminal markets"),
    ("Criminal actors", "criminal actors"), ("Resilience avg,", "resilience"), ("Resilience", "resilience"),
    ("Congo, Dem, Rep,", "congo dem rep"), ("Congo, Dem. Rep.", "congo dem rep"), ("St, Kitts and Nevis", "st kitts and nevis"),
    (" Caribbean ", "caribbean"),
])
def test_normalise_name(header, expected):
    assert module().normalise_name(header) == expected


def test_region_means_checked_by_hand(table):
    # North America = United States and Canada; 2021 criminality 5.50 and 3.66 in the workbook.
    assert score(table, "criminality", "GOC-NORTH-AMERICA", 2021) == pytest.approx((5.50 + 3.66) / 2)
    # Central America (2025 grouping) in 2023, when GI-TOC's sheet said "Caribbean & Central":
    # Belize, Costa Rica, El Salvador, Guatemala, Honduras, Mexico, Nicaragua, Panama.
    central_2023 = [4.87, 5.53, 5.92, 6.60, 7.05, 7.57, 5.72, 6.98]
    assert score(table, "criminality", "GOC-CENTRAL-AMERICA", 2023) == pytest.approx(sum(central_2023) / 8)
    # The world is the mean of all 193 countries.
    rows = countries(table)
    world = rows[(rows["series_id"] == f"{SID}.resilience_anti_money_laundering") & (rows["date"].dt.year == 2025)]
    assert score(table, "resilience_anti_money_laundering", "WLD", 2025) == pytest.approx(world["value"].mean())


def test_every_region_and_continent_has_a_value_per_indicator(table):
    regions = geo_table().query("kind == 'world_region'")["geo"]
    got = table[table["geo"].isin(regions)].groupby(["date", "geo"])["series_id"].nunique()
    assert set(got.index.get_level_values("geo")) == set(regions) and len(regions) == 28
    assert (got.xs(pd.Timestamp(2025, 1, 1)) == 36).all() and (got.xs(pd.Timestamp(2021, 1, 1)) == 30).all()


def test_excerpt_with_each_sheets_own_spelling_and_order(tmp_path, table):
    out = module().transform(snapshot_of(tmp_path, FIXTURE.read_bytes()))
    got = out.set_index(["series_id", "geo", "date"])["value"].sort_index()
    want = table.set_index(["series_id", "geo", "date"])["value"].reindex(got.index)
    pd.testing.assert_series_equal(got, want)
    assert out["series_id"].nunique() == 5 and countries(out)["geo"].nunique() == 193


def test_column_order_does_not_matter(tmp_path):
    def move_country_last(wb):
        ws = wb["2021_dataset"]
        ws.move_range("C1:C194", rows=0, cols=ws.max_column - 2)  # Country to the far right
        ws.delete_cols(3)
    out = module().transform(snapshot_of(tmp_path, edited(move_country_last)))
    assert score(out, "criminality", "MX", 2021) == pytest.approx(7.56)


@pytest.mark.parametrize("mutate, message", [
    (lambda wb: wb["2025_dataset"].cell(1, 4, "Criminality index"), "unknown column"),
    (lambda wb: wb["2023_dataset"].cell(2, 3, "Atlantis"), "unknown country"),
    (lambda wb: wb["2021_dataset"].cell(5, 4, 11.5), "outside 1-10"),
    (lambda wb: [wb.remove(wb[s]) for s in ("2025_dataset", "2023_dataset", "2021_dataset")], "no sheet named"),
])
def test_layout_changes_raise_parse_error(tmp_path, mutate, message):
    with pytest.raises(ParseError, match=message):
        module().transform(snapshot_of(tmp_path, edited(mutate)))


def test_fetch_from_the_official_workbook_url(data_dir, local_server, monkeypatch):
    url = local_server.route("/assets/downloads/global_oc_index.xlsx", body=FIXTURE.read_bytes(), etag='"oc-1"',
                             headers={"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    monkeypatch.setattr(module(), "URL", url)
    [first] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert first.status == "ok", first.error
    df = pd.read_parquet(data_dir / "tidy" / f"{SID}.parquet")
    assert score(df, "criminality", "MX", 2021) == pytest.approx(7.56)
    assert score(df, "resilience_anti_money_laundering", "MX", 2025) == pytest.approx(4.5)
    [second] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert second.status == "not_modified", second.error


def test_fetch_rejects_a_page_that_is_not_a_workbook(data_dir, local_server, monkeypatch):
    url = local_server.route("/assets/downloads/global_oc_index.xlsx", body=b"Country,Score\nMexico,7.68\n")
    monkeypatch.setattr(module(), "URL", url)
    [result] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert result.status == "fallback" and "not an .xlsx workbook" in result.error
