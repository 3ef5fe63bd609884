"""sesnsp_federal: PROVENANCE headline figures from the real seed, the abroad entity, partial months,
layout faults and the fetcher.

PROVENANCE's national figures count all 33 SESNSP entities, EXTRANJERO (abroad) included; our MX
is the sum of the 32 states, so each headline check is "MX + the file's abroad cases = PROVENANCE".
The committed fixture fixtures/sesnsp_federal_fuero_federal_excerpt.csv is a byte excerpt of the
seed (header + the L.F.A.F.E. and both L.F.C.D.O. rows for 2012, 2025 and 2026, all 33 entities;
latin-1, CRLF). Tests that blank or change a cell say so: those are synthetic edits of real rows.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

import etl.pipeline
import etl.registry
import etl.snapshot
from etl.errors import ParseError
from etl.schema import normalize

SID = "sesnsp_federal"
FIXTURES = Path(__file__).parent / "fixtures"
EXCERPT = FIXTURES / "sesnsp_federal_fuero_federal_excerpt.csv"
MONTHS = ["ENERO", "FEBRERO", "MARZO", "ABRIL", "MAYO", "JUNIO", "JULIO", "AGOSTO", "SEPTIEMBRE", "OCTUBRE",
          "NOVIEMBRE", "DICIEMBRE"]
BORDER = ["MX-BCN", "MX-SON", "MX-CHH", "MX-COA", "MX-NLE", "MX-TAM"]


def module():
    return etl.registry.get_source(SID).module


@pytest.fixture(scope="module")
def raw(seed_snapshot) -> pd.DataFrame:
    """The seed as SESNSP wrote it, with a yearly total per row."""
    name = seed_snapshot.files[0]["name"]
    df = pd.read_csv(io.BytesIO(seed_snapshot.read_bytes(name)), encoding="latin-1", dtype={"INEGI": str})
    return df.assign(year_total=df[MONTHS].sum(axis=1))


def abroad(raw: pd.DataFrame, year: int, **where) -> int:
    rows = raw[(raw["ENTIDAD"] == "EXTRANJERO") & (raw["AÑO"] == year)]
    for col, value in where.items():
        rows = rows[rows[col] == value]
    return int(rows["year_total"].sum())


def yearly(df: pd.DataFrame) -> pd.Series:
    return df.groupby(["series_id", "geo", df["date"].dt.year])["value"].sum()


def snapshot_of(tmp_path, name: str, content: bytes) -> etl.snapshot.Snapshot:
    (tmp_path / name).write_bytes(content)
    return etl.snapshot.Snapshot(SID, tmp_path, {"files": [{"name": name, "url": "http://test/" + name}]})


LFAFE = "LEY FEDERAL DE ARMAS DE FUEGO Y EXPLOSIVOS (L.F.A.F.E.)"
LFCDO = "LEY FEDERAL CONTRA LA DELINCUENCIA ORGANIZADA (L.F.C.D.O.)"
LIC = "LEYES DE INSTITUCIONES DE CREDITO, INVERSION, FIANZAS Y SEGUROS"


# (series, year, PROVENANCE national figure incl. abroad, raw filter for the abroad part, our MX value)
@pytest.mark.parametrize("series, year, provenance, where, mx", [
    ("lfafe", 2012, 19_015, {"TIPO": LFAFE}, 19_015),
    ("lfafe", 2018, 13_837, {"TIPO": LFAFE}, 13_836),
    ("lfafe", 2025, 18_012, {"TIPO": LFAFE}, 18_012),
    ("lfafe", 2026, 5_505, {"TIPO": LFAFE}, 5_505),  # January–April 2026
    ("contra_salud", 2012, 27_870, {"CONCEPTO": "CONTRA LA SALUD"}, 27_869),
    ("contra_salud", 2024, 6_053, {"CONCEPTO": "CONTRA LA SALUD"}, 6_048),
    ("lgs_narcomenudeo", 2012, 14_331, {"TIPO": "CONTRA LA SALUD EN SU MODALIDAD DE NARCOMENUDEO"}, 14_331),
    ("lgs_narcomenudeo", 2023, 1_042, {"TIPO": "CONTRA LA SALUD EN SU MODALIDAD DE NARCOMENUDEO"}, 1_042),
    ("lfcdo", 2012, 2_270, {"CONCEPTO": LFCDO}, 2_266),
    ("lfcdo", 2025, 477, {"CONCEPTO": LFCDO}, 477),
    ("leyes_financieras", 2018, 10_221, {"TIPO": LIC}, 10_219),
    ("leyes_financieras", 2026, 501, {"TIPO": LIC}, 500),
])
def test_headline_figures_match_provenance(table, raw, series, year, provenance, where, mx):
    got = yearly(table).loc[(f"{SID}.{series}", "MX", year)]
    assert got == mx
    assert got + abroad(raw, year, **where) == provenance  # the difference is exactly the abroad cases


@pytest.mark.parametrize("year, expected", [(2012, 6_162), (2018, 4_305), (2025, 5_885), (2026, 1_683)])
def test_lfafe_in_the_six_border_states(table, year, expected):
    y = yearly(table)
    assert sum(y.loc[(f"{SID}.lfafe", geo, year)] for geo in BORDER) == expected


@pytest.mark.parametrize("geo, expected", [("MX-BCN", 18_798), ("MX-TAM", 16_363), ("MX-JAL", 16_345)])
def test_states_with_most_firearms_cases_2012_apr_2026(table, geo, expected):
    rows = table[(table["series_id"] == f"{SID}.lfafe") & (table["geo"] == geo)]
    assert rows["value"].sum() == expected


def test_shape(table):
    assert table["date"].min() == pd.Timestamp("2012-01-01")
    assert table["geo"].nunique() == 33 and set(table["geo"]) >= {"MX", *BORDER}
    assert set(table["unit"]) == {"cases"} and table["flag"].isna().all() and table["value"].notna().all()
    declared = {s.id for s in etl.registry.get_source(SID).meta.series}
    assert set(table["series_id"]) == declared and len(declared) == 33


def test_abroad_is_kept_out_of_states_and_mx(table, raw):
    assert (raw["ENTIDAD"] == "EXTRANJERO").sum() > 0 and raw.loc[raw["ENTIDAD"] == "EXTRANJERO", "INEGI"].isna().all()
    abroad_total = int(raw.loc[raw["ENTIDAD"] == "EXTRANJERO", "year_total"].sum())
    assert abroad_total == 1_575  # cases SESNSP files under EXTRANJERO, Jan 2012 – Apr 2026
    mx_total = table[(table["series_id"] == f"{SID}.total") & (table["geo"] == "MX")]["value"].sum()
    assert mx_total + abroad_total == raw["year_total"].sum() == 1_314_782


def test_national_is_sum_of_states(table):
    states = table[table["geo"] != "MX"].groupby(["series_id", "date"])["value"].sum()
    national = table[table["geo"] == "MX"].set_index(["series_id", "date"])["value"]
    pd.testing.assert_series_equal(national.sort_index(), states.sort_index(), check_names=False)


def test_totals_are_sums_of_their_rows(table):
    y = yearly(table).unstack("series_id")
    modalities = [c for c in y.columns if c.startswith(f"{SID}.contra_salud_")]
    assert len(modalities) == 7
    pd.testing.assert_series_equal(y[modalities].sum(axis=1), y[f"{SID}.contra_salud"], check_names=False)
    pd.testing.assert_series_equal(y[f"{SID}.lfcdo_contra_salud"] + y[f"{SID}.lfcdo_otros"], y[f"{SID}.lfcdo"],
                                   check_names=False)
    rows = [c for c in y.columns if c not in {f"{SID}.total", f"{SID}.contra_salud", f"{SID}.lfcdo"}]
    pd.testing.assert_series_equal(y[rows].sum(axis=1), y[f"{SID}.total"], check_names=False)


def test_unpublished_2026_months_are_missing_not_zero(table):
    assert table["date"].max() == pd.Timestamp("2026-04-01")  # April 2026 cut: May–December are blank
    months_2026 = table.loc[table["date"].dt.year == 2026, "date"].dt.month
    assert sorted(months_2026.unique()) == [1, 2, 3, 4]
    lfafe_mx = table[(table["series_id"] == f"{SID}.lfafe") & (table["geo"] == "MX")]
    assert len(lfafe_mx) == 14 * 12 + 4  # every published month once, nothing after the cut


def test_rows_new_in_2019_are_absent_before_not_zero(table):
    hc = table[table["series_id"] == f"{SID}.hidrocarburos"]
    assert hc["date"].min() == pd.Timestamp("2019-01-01")
    assert yearly(table).loc[(f"{SID}.total", "MX", 2012)] == 125_245  # the total still exists before 2019


def test_committed_excerpt_is_a_byte_excerpt_of_the_seed(seed_snapshot):
    seed = set(seed_snapshot.read_bytes(seed_snapshot.files[0]["name"]).splitlines(keepends=True))
    lines = EXCERPT.read_bytes().splitlines(keepends=True)
    assert len(lines) == 1 + 3 * 33 * 3 and all(line in seed for line in lines)
    assert lines[0].endswith(b"\r\n") and "AÑO".encode("latin-1") in lines[0]  # latin-1, CRLF as published


def test_excerpt_builds_the_same_values_as_the_seed(tmp_path, table):
    out = normalize(module().transform(snapshot_of(tmp_path, "Fuero_federal.csv", EXCERPT.read_bytes())))
    assert set(out["series_id"]) == {f"{SID}.{s}" for s in ("lfafe", "lfcdo", "lfcdo_contra_salud", "lfcdo_otros")}
    got = out.set_index(["series_id", "geo", "date"])["value"]
    want = table.set_index(["series_id", "geo", "date"])["value"].reindex(got.index)
    pd.testing.assert_series_equal(got, want, check_names=False)
    assert yearly(out).loc[(f"{SID}.lfcdo", "MX", 2012)] == 2_266  # the 4 abroad cases of 2012 stay out


def test_blank_month_inside_the_range_is_dropped_not_zero(tmp_path):
    # Synthetic edit of a real row: Sonora's L.F.A.F.E. March 2025 cell blanked.
    text = EXCERPT.read_bytes().decode("latin-1")
    lines = text.split("\r\n")
    i = next(k for k, line in enumerate(lines) if line.startswith("2025,26,") and "(L.F.A.F.E.)" in line)
    cells = lines[i].split(",")
    cells[6 + 2] = ""
    lines[i] = ",".join(cells)
    out = module().transform(snapshot_of(tmp_path, "f.csv", "\r\n".join(lines).encode("latin-1")))
    key = out.set_index(["series_id", "geo", "date"])["value"]
    march = pd.Timestamp("2025-03-01")
    assert (f"{SID}.lfafe", "MX-SON", march) not in key.index       # missing, not 0
    assert (f"{SID}.lfafe", "MX", march) not in key.index           # MX needs all 32 states
    assert (f"{SID}.lfafe", "MX-SON", pd.Timestamp("2025-04-01")) in key.index
    assert (f"{SID}.lfafe", "MX-CHH", march) in key.index and out["value"].notna().all()
    assert out["flag"].isna().all()  # SESNSP suppresses nothing: a blank is unpublished, not "suppressed"


def test_reads_the_same_rows_saved_as_xlsx(tmp_path):
    csv = pd.read_csv(EXCERPT, encoding="latin-1", dtype=str, keep_default_na=False)
    csv.to_excel(tmp_path / "Fuero_federal.xlsx", index=False)
    snap = etl.snapshot.Snapshot(SID, tmp_path, {"files": [{"name": "Fuero_federal.xlsx", "url": "http://test/x"}]})
    from_xlsx = normalize(module().transform(snap))
    from_csv = normalize(module().transform(snapshot_of(tmp_path, "f.csv", EXCERPT.read_bytes())))
    pd.testing.assert_frame_equal(from_xlsx, from_csv)


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("(L.F.A.F.E.)", "(LFAFE)"), "not in the catalogue mapping"),
    (lambda t: t.replace("\r\n2025,26,", "\r\n2025,99,", 1), "unknown INEGI state code"),
    (lambda t: t.replace(",,EXTRANJERO,", ",,MARTE,", 1), "without an INEGI state code"),
    (lambda t: t.replace(",ENERO,", ",ENE,", 1), r"missing column\(s\) \['ENERO'\]"),
    (lambda t: t.replace(",0,0,0,0\r\n", ",0,n.d.,0,0\r\n", 1), "non-numeric case count 'n.d.'"),
    (lambda t: "", "unreadable or empty"),
])
def test_layout_changes_raise_parse_error(tmp_path, mutate, message):
    text = mutate(EXCERPT.read_bytes().decode("latin-1"))
    with pytest.raises(ParseError, match=message):
        module().transform(snapshot_of(tmp_path, "f.csv", text.encode("latin-1")))


def test_fetch_finds_the_file_on_the_landing_page(data_dir, local_server, monkeypatch):
    file_url = local_server.route("/files/Fuero_federal_2012-2026_abr2026.csv", body=EXCERPT.read_bytes(), etag='"v1"')
    page = ('<!DOCTYPE html><html><body><a href="/docs/otro.pdf">PDF</a>'
            '<a href="/files/Fuero_federal_2012-2026_abr2026.csv">Incidencia del fuero federal</a></body></html>')
    landing = local_server.route("/datos-abiertos", body=page.encode(), headers={"Content-Type": "text/html"})
    monkeypatch.setattr(module(), "LANDING_URL", landing)
    [first] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert first.status == "ok", first.error
    snap = etl.snapshot.latest_snapshot(SID)
    assert snap.files[0]["url"] == file_url and snap.files[0]["etag"] == '"v1"'
    df = pd.read_parquet(data_dir / "tidy" / f"{SID}.parquet")
    assert yearly(df).loc[(f"{SID}.lfafe", "MX", 2025)] == 18_012
    [second] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert second.status == "not_modified", second.error


def test_fetch_without_a_link_fails_naming_the_page(data_dir, local_server, monkeypatch):
    landing = local_server.route("/datos-abiertos", body=b"<html><body>Mantenimiento</body></html>",
                                 headers={"Content-Type": "text/html"})
    monkeypatch.setattr(module(), "LANDING_URL", landing)
    [res] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert res.status == "fallback" and "no link to the fuero federal file" in res.error and landing in res.error


def test_panel_metadata():
    from dashboard.registry import build

    reg = build({sid: src.meta for sid, src in etl.registry.all_sources().items()})
    panel = reg.panels["federal_crimes"]
    assert (panel.geo_kind, panel.default_geo, panel.order, panel.default_on) == ("mx", "MX", 40, False)
    crime = panel.facet("crime")
    assert crime.kind == "multi" and crime.default == ("lfafe",)
    assert {s.id for s in panel.series} == {s.id for s in etl.registry.get_source(SID).meta.series}
    assert all(v.label_es and v.label_es != v.label for v in crime.values)
    assert len({s.color for s in panel.series}) == len(panel.series)
    assert "not convictions" in panel.description and "no sentencias" in panel.description_es
