"""sesnsp_homicide: headline facts from the real seed, both layouts, and the fetcher.

The wide-layout excerpts here are NOT invented numbers: they are real rows of the seed snapshot
(itself a complete reshape of SESNSP's IDVFC_NM file) re-pivoted back into SESNSP's official
wide layout (Año … Rango de edad, Enero … Diciembre; official state names; latin-1), which is
what ``fetch`` downloads. The committed fixture fixtures/sesnsp_homicide_IDVFC_NM_excerpt.csv
holds Guanajuato (11) and Nuevo León (19), 2020, Homicidio doloso and Feminicidio rows.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pandas as pd
import pytest

import etl.pipeline
import etl.registry
import etl.snapshot
from etl.errors import ParseError
from etl.reference import states
from etl.schema import normalize

SID = "sesnsp_homicide"
REPO = Path(__file__).resolve().parents[3]
FIXTURE = Path(__file__).parent / "fixtures" / "sesnsp_homicide_IDVFC_NM_excerpt.csv"
MONTHS = ["Enero", "Febrero", "Marzo", "Abril", "Mayo", "Junio", "Julio", "Agosto", "Septiembre",
          "Octubre", "Noviembre", "Diciembre"]
WIDE_KEYS = {"n_year": "Año", "cve_ent": "Clave_Ent", "nombre_estado": "Entidad",
             "bien_juridico_afectado": "Bien jurídico afectado", "tipo_de_delito": "Tipo de delito",
             "subtipo_de_delito": "Subtipo de delito", "modalidad": "Modalidad", "genero": "Sexo",
             "rango_de_edad": "Rango de edad"}




@pytest.fixture(scope="module")
def seed_long(seed_snapshot):
    path = seed_snapshot.path(seed_snapshot.files[0]["name"])
    return pd.read_csv(path, dtype={"cve_ent": str, "n_month": str})


def repivot_wide(long: pd.DataFrame, cves: list[str], years: list[int]) -> pd.DataFrame:
    """Real seed rows -> SESNSP's official wide layout (official state names, months as columns)."""
    rows = long[long["cve_ent"].isin(cves) & long["n_year"].isin(years)
                & long["subtipo_de_delito"].isin(["Homicidio doloso", "Feminicidio"])].copy()
    official = states().query("country == 'MX'").set_index("agency_code")["name"]
    rows["nombre_estado"] = rows["cve_ent"].map(official)
    rows["month"] = rows["n_month"].astype(int).map(lambda m: MONTHS[m - 1])
    wide = rows.pivot_table(index=list(WIDE_KEYS), columns="month", values="n_victimas", sort=False).reset_index()
    wide = wide.reindex(columns=[*WIDE_KEYS, *MONTHS]).rename(columns=WIDE_KEYS)
    wide["Clave_Ent"] = wide["Clave_Ent"].astype(int)  # SESNSP writes 1, not 01
    wide.columns.name = None
    return wide.astype({m: "Int64" for m in MONTHS})


def snapshot_of(tmp_path: Path, name: str, content: bytes) -> etl.snapshot.Snapshot:
    (tmp_path / name).write_bytes(content)
    return etl.snapshot.Snapshot(SID, tmp_path, {"files": [{"name": name, "url": "http://test/" + name}]})


def yearly(df: pd.DataFrame) -> pd.Series:
    return df.groupby(["series_id", "geo", df["date"].dt.year])["value"].sum()


@pytest.mark.parametrize("series, geo, year, expected", [
    ("homicidio_doloso", "MX", 2020, 34_569),
    ("feminicidio", "MX", 2020, 976),
    ("homicidio_doloso", "MX-GUA", 2020, 4_490),
    ("homicidio_doloso", "MX-BCN", 2020, 2_940),
    ("homicidio_doloso", "MX-MEX", 2020, 2_795),
    ("homicidio_doloso", "MX", 2019, 34_723),
    ("feminicidio", "MX", 2021, 1_021),
    ("homicidio_doloso", "MX", 2025, 12_752),
])
def test_headline_facts(table, series, geo, year, expected):
    assert yearly(table).loc[(f"{SID}.{series}", geo, year)] == expected


def test_shape(table):
    assert table["date"].min() == pd.Timestamp("2015-01-01")
    assert table["date"].max() == pd.Timestamp("2025-06-01")
    assert (table["date"].dt.day == 1).all()  # the file's day-15 placeholder becomes the 1st
    assert table["geo"].nunique() == 33
    assert table["series_id"].nunique() == 7
    units = table.groupby("series_id")["unit"].unique().map(tuple).to_dict()
    assert units.pop(f"{SID}.homicidio_doloso_firearm_share") == ("percent",)
    assert set(units.values()) == {("victims",)} and table["flag"].isna().all()


def test_national_is_sum_of_states(table):
    victims = table[table["unit"] == "victims"]
    states_sum = victims[victims["geo"] != "MX"].groupby(["series_id", "date"])["value"].sum()
    national = victims[victims["geo"] == "MX"].set_index(["series_id", "date"])["value"]
    pd.testing.assert_series_equal(national.sort_index(), states_sum.sort_index(), check_names=False)


def test_breakdowns_within_total(table):
    y = yearly(table).unstack("series_id")
    male, female = y[f"{SID}.homicidio_doloso_male"], y[f"{SID}.homicidio_doloso_female"]
    assert (male + female <= y[f"{SID}.homicidio_doloso"]).all()
    assert (y[f"{SID}.homicidio_doloso_firearm"] <= y[f"{SID}.homicidio_doloso"]).all()
    assert (y[f"{SID}.feminicidio_firearm"] <= y[f"{SID}.feminicidio"]).all()


SHARE, FIREARM, TOTAL = (f"{SID}.homicidio_doloso_firearm_share", f"{SID}.homicidio_doloso_firearm",
                         f"{SID}.homicidio_doloso")


@pytest.mark.parametrize("geo, date, firearm, total", [
    ("MX", "2020-01-01", 2_100, 2_996),
    ("MX-CHH", "2020-06-01", 194, 275),
])
def test_firearm_share_headline(table, seed_long, geo, date, firearm, total):
    # the counts come straight from the seed file, the share from the table
    d = pd.Timestamp(date)
    rows = seed_long[(seed_long["n_year"] == d.year) & (seed_long["n_month"].astype(int) == d.month)
                     & (seed_long["subtipo_de_delito"] == "Homicidio doloso")]
    if geo != "MX":
        rows = rows[rows["cve_ent"] == "08"]
    assert rows["n_victimas"].sum() == total
    assert rows.loc[rows["modalidad"] == "Con arma de fuego", "n_victimas"].sum() == firearm
    value = table.set_index(["series_id", "geo", "date"]).loc[(SHARE, geo, d), "value"]
    assert value == pytest.approx(100 * firearm / total)


def test_firearm_share_is_firearm_over_total_and_skips_months_without_victims(table):
    wide = table[table["series_id"].isin([SHARE, FIREARM, TOTAL])].pivot_table(
        index=["geo", "date"], columns="series_id", values="value")
    with_victims = wide[wide[TOTAL] > 0]
    assert len(wide[wide[TOTAL] == 0]) > 0 and wide.loc[wide[TOTAL] == 0, SHARE].isna().all()  # no 0 %, no row
    pd.testing.assert_series_equal(with_victims[SHARE], 100 * with_victims[FIREARM] / with_victims[TOTAL],
                                   check_names=False)
    share = table[table["series_id"] == SHARE]
    assert share["value"].between(0, 100).all() and set(share["geo"]) == set(table["geo"])
    mx = share[share["geo"] == "MX"].set_index("date")["value"]
    assert 55 < mx["2015"].mean() < 60 and 70 < mx["2020"].mean() < 71.5  # the rise from ~58 % to ~71 %


def test_firearm_share_panel():
    from dashboard.registry import build

    reg = build({sid: src.meta for sid, src in etl.registry.all_sources().items()})
    panel = reg.panels["firearm_share"]
    assert (panel.geo_kind, panel.default_geo, panel.order, panel.default_on) == ("mx", "MX", 25, False)
    [spec] = panel.series
    assert spec.id == SHARE and spec.unit == "percent" and not spec.per_100k and spec.label_es
    assert "not a count of deaths" in panel.description and panel.description_es


def test_committed_fixture_is_a_repivot_of_the_seed(seed_long):
    committed = pd.read_csv(FIXTURE, encoding="latin-1")
    expected = repivot_wide(seed_long, ["11", "19"], [2020])
    pd.testing.assert_frame_equal(committed, expected, check_dtype=False)
    assert "Nuevo León".encode("latin-1") in FIXTURE.read_bytes()  # latin-1, as SESNSP writes it


def test_wide_layout_matches_long_layout(tmp_path, table):
    snap = snapshot_of(tmp_path, "IDVFC_NM.csv", FIXTURE.read_bytes())
    wide = normalize(etl.registry.get_source(SID).module.transform(snap))
    got = wide.set_index(["series_id", "geo", "date"])["value"].sort_index()
    same = table[table["geo"].isin(["MX-GUA", "MX-NLE"]) & (table["date"].dt.year == 2020)]
    want = same.set_index(["series_id", "geo", "date"])["value"].sort_index()
    pd.testing.assert_series_equal(got.drop("MX", level="geo"), want, check_names=False)
    assert yearly(wide).loc[(f"{SID}.homicidio_doloso", "MX-GUA", 2020)] == 4_490


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_wide_layout_in_either_encoding(tmp_path, encoding):
    content = FIXTURE.read_bytes().decode("latin-1").encode(encoding)
    out = etl.registry.get_source(SID).module.transform(snapshot_of(tmp_path, "IDVFC_NM.csv", content))
    assert yearly(out).loc[(f"{SID}.homicidio_doloso", "MX-NLE", 2020)] > 0


def test_wide_blank_months_after_cutoff_are_dropped(tmp_path, seed_long):
    wide = repivot_wide(seed_long, ["26"], [2025])
    assert wide[MONTHS[6:]].isna().all().all()  # Julio … Diciembre empty after the June cut
    content = wide.to_csv(index=False).encode("latin-1")
    out = etl.registry.get_source(SID).module.transform(snapshot_of(tmp_path, "IDVFC_NM.csv", content))
    assert out["date"].max() == pd.Timestamp("2025-06-01") and out["value"].notna().all()


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("Subtipo de delito", "Subtipo"), "layout not recognised"),
    (lambda t: t.replace(",Enero,", ",Ene,"), "layout not recognised"),
    (lambda t: t.replace("\n2020,11,", "\n2020,99,", 1), "unknown state code"),
    (lambda t: t.rsplit(",", 1)[0] + ",n.d.\n", "non-numeric victim count"),
    (lambda t: "", "unreadable or empty"),
])
def test_layout_changes_raise_parse_error(tmp_path, mutate, message):
    text = mutate(FIXTURE.read_bytes().decode("latin-1"))
    with pytest.raises(ParseError, match=message):
        etl.registry.get_source(SID).module.transform(snapshot_of(tmp_path, "IDVFC_NM.csv", text.encode("latin-1")))


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""
    etag = '"v1"'

    def do_GET(self):  # noqa: N802
        if self.headers.get("If-None-Match") == self.etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("ETag", self.etag)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass



def test_fetch_builds_from_official_wide_file(data_dir, seed_long, monkeypatch):
    # All 32 states (min_geos) and 2015 (first_date) + 2025 (partial year): real rows, re-pivoted.
    wide = repivot_wide(seed_long, sorted(seed_long["cve_ent"].unique()), [2015, 2025])
    handler = type("H", (_Handler,), {"body": wide.to_csv(index=False).encode("latin-1")})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        module = etl.registry.get_source(SID).module
        monkeypatch.setattr(module, "DOWNLOAD_URL", f"http://127.0.0.1:{server.server_port}/IDVFC_NM_jun25.csv")
        [first] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
        assert first.status == "ok", first.error
        snap = etl.snapshot.latest_snapshot(SID)
        assert snap.name != "2025-07-20" and snap.files[0]["etag"] == '"v1"'
        df = pd.read_parquet(data_dir / "tidy" / f"{SID}.parquet")
        y = yearly(df)
        assert y.loc[(f"{SID}.homicidio_doloso", "MX", 2015)] == yearly_seed(seed_long, 2015)
        assert df["date"].max() == pd.Timestamp("2025-06-01")
        [second] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
        assert second.status == "not_modified", second.error
    finally:
        server.shutdown()


def yearly_seed(long: pd.DataFrame, year: int) -> int:
    rows = (long["n_year"] == year) & (long["subtipo_de_delito"] == "Homicidio doloso")
    return int(long.loc[rows, "n_victimas"].sum())
