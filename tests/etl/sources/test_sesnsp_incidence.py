"""sesnsp_incidence: PROVENANCE headline figures from the real seed, the 2026 catalogue break,
partial months, layout faults and the fetcher.

The committed fixtures are byte excerpts of the two seed files (SESNSP's layout, latin-1):
fixtures/sesnsp_incidence_IDEFC_2015_excerpt.csv holds every Narcomenudeo and Extorsión row of
2015 and 2024 (2015 catalogue, CRLF); fixtures/sesnsp_incidence_IDEFC_2026_excerpt.csv every
Narcomenudeo and Extorsión row of 2026 (2026 catalogue, LF). Tests that change a cell say so.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

import etl.pipeline
import etl.registry
import etl.snapshot
from etl.errors import ParseError
from etl.http import Http
from etl.pipeline import FetchContext
from etl.schema import normalize

SID = "sesnsp_incidence"
FIXTURES = Path(__file__).parent / "fixtures"
OLD = FIXTURES / "sesnsp_incidence_IDEFC_2015_excerpt.csv"
NEW = FIXTURES / "sesnsp_incidence_IDEFC_2026_excerpt.csv"


def module():
    return etl.registry.get_source(SID).module


def yearly(df: pd.DataFrame) -> pd.Series:
    return df.groupby(["series_id", "geo", df["date"].dt.year])["value"].sum()


def snapshot_of(tmp_path: Path, files: dict[str, bytes]) -> etl.snapshot.Snapshot:
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    return etl.snapshot.Snapshot(SID, tmp_path, {"files": [{"name": n, "url": "http://test/" + n} for n in files]})


@pytest.mark.parametrize("crime, geo, year, expected", [
    ("homicidio_doloso", "MX", 2015, 16_119),
    ("homicidio_doloso", "MX", 2020, 28_839),
    ("narcomenudeo", "MX", 2015, 32_398),
    ("narcomenudeo", "MX", 2019, 70_274),
    ("narcomenudeo", "MX", 2023, 90_071),
    ("narcomenudeo", "MX", 2024, 84_829),   # January–November 2024
    ("extorsion", "MX", 2022, 10_343),
    ("extorsion", "MX", 2024, 9_428),
    ("secuestro", "MX", 2018, 1_330),
    ("secuestro", "MX", 2021, 628),
    ("feminicidio", "MX", 2021, 982),
    ("narcomenudeo", "MX-GUA", 2023, 19_876),
    ("narcomenudeo", "MX-BCN", 2023, 9_839),
    ("narcomenudeo", "MX-COA", 2023, 9_054),
    ("c2026_homicidio_doloso", "MX", 2026, 3_996),   # January–March 2026, 2026 catalogue
    ("c2026_narcomenudeo", "MX", 2026, 25_010),       # both new subtypes together
    ("c2026_extorsion", "MX", 2026, 2_775),
])
def test_headline_figures_match_provenance(table, crime, geo, year, expected):
    assert yearly(table).loc[(f"{SID}.{crime}", geo, year)] == expected


def test_firearm_homicide_carpetas_2026_match_provenance(seed_snapshot):
    # PROVENANCE: 2,935 of the 3,996 Jan–Mar 2026 homicidio doloso carpetas were con arma de fuego.
    name = next(f["name"] for f in seed_snapshot.files if "2026" in f["name"])
    raw = pd.read_csv(seed_snapshot.path(name), encoding="latin-1")
    rows = raw[(raw["Subtipo de delito"] == "Homicidio doloso") & (raw["Modalidad"] == "Con arma de fuego")]
    assert rows[["Enero", "Febrero", "Marzo"]].sum().sum() == 2_935


def test_comparison_months_jan_mar_2024(table):
    mx = table[(table["geo"] == "MX") & table["date"].between("2024-01-01", "2024-03-01")]
    by = mx.groupby("series_id")["value"].sum()
    assert by[f"{SID}.homicidio_doloso"] == 6_059 and by[f"{SID}.narcomenudeo"] == 23_491


def test_2026_catalogue_is_its_own_family_never_spliced(table):
    is_2026 = table["series_id"].str.startswith(f"{SID}.c2026_")
    assert (table.loc[is_2026, "date"] >= pd.Timestamp("2026-01-01")).all()
    assert (table.loc[~is_2026, "date"] < pd.Timestamp("2026-01-01")).all()
    assert table.loc[~is_2026, "date"].max() == pd.Timestamp("2024-11-01")
    # the new crimes exist only in the new family, the old split violación types only as old types
    ids = set(table["series_id"])
    assert f"{SID}.c2026_tortura" in ids and f"{SID}.tortura" not in ids
    assert f"{SID}.narcomenudeo_venta" not in ids and f"{SID}.c2026_narcomenudeo_venta" in ids
    old = {i.removeprefix(f"{SID}.") for i in ids if not i.startswith(f"{SID}.c2026_")}
    new = {i.removeprefix(f"{SID}.c2026_") for i in ids if i.startswith(f"{SID}.c2026_")}
    assert len(old) == 58 and len(new) == 88 and len(old & new) == 56


def test_every_crime_type_is_a_series(table, seed_snapshot):
    for f in seed_snapshot.files:
        raw = pd.read_csv(seed_snapshot.path(f["name"]), encoding="latin-1")
        prefix = "c2026_" if raw["Año"].min() >= 2026 else ""
        tipos = module().CATALOGUES["2026" if prefix else "2015"][2]
        assert set(raw["Tipo de delito"]) == set(tipos)
        assert {f"{SID}.{prefix}{tipos[t]}" for t in raw["Tipo de delito"]} <= set(table["series_id"])
    assert len(set(tipos)) == 47


def test_unpublished_months_are_missing_not_zero(table):
    old = table[table["series_id"] == f"{SID}.narcomenudeo"]
    new = table[table["series_id"] == f"{SID}.c2026_narcomenudeo"]
    assert pd.Timestamp("2024-12-01") not in set(old["date"])  # December 2024 is empty in the Nov 2024 cut
    assert sorted(new["date"].dt.month.unique()) == [1, 2, 3]   # April–December 2026 empty in the Mar 2026 cut
    assert len(old[old["geo"] == "MX"]) == 9 * 12 + 11 and len(new[new["geo"] == "MX"]) == 3


def test_shape_and_national_is_sum_of_states(table):
    assert table["date"].min() == pd.Timestamp("2015-01-01") and table["geo"].nunique() == 33
    assert set(table["unit"]) == {"crimes"} and table["flag"].isna().all() and table["value"].notna().all()
    states = table[table["geo"] != "MX"].groupby(["series_id", "date"])["value"].sum()
    national = table[table["geo"] == "MX"].set_index(["series_id", "date"])["value"]
    pd.testing.assert_series_equal(national.sort_index(), states.sort_index(), check_names=False)


def test_types_are_the_sum_of_their_subtypes(table):
    y = yearly(table).unstack("series_id")
    for total, parts in [("homicidio", ["homicidio_doloso", "homicidio_culposo"]),
                         ("c2026_extorsion", ["c2026_extorsion_presencial", "c2026_tentativa_extorsion_presencial",
                                              "c2026_extorsion_otros_medios", "c2026_tentativa_extorsion_otros_medios"]),
                         ("c2026_narcomenudeo", ["c2026_narcomenudeo_posesion_simple", "c2026_narcomenudeo_venta"])]:
        got = y[[f"{SID}.{p}" for p in parts]].sum(axis=1, min_count=len(parts)).dropna()
        pd.testing.assert_series_equal(got, y[f"{SID}.{total}"].dropna(), check_names=False)


def test_committed_excerpts_are_byte_excerpts_of_the_seed(seed_snapshot):
    for fixture, word in [(OLD, "2015_nov2024"), (NEW, "2026_mar2026")]:
        name = next(f["name"] for f in seed_snapshot.files if word in f["name"])
        seed = set(seed_snapshot.read_bytes(name).splitlines(keepends=True))
        assert all(line in seed for line in fixture.read_bytes().splitlines(keepends=True))
    assert OLD.read_bytes().count(b"\r\n") == 129 and b"\r\n" not in NEW.read_bytes()
    assert "Extorsión".encode("latin-1") in NEW.read_bytes()


def test_excerpts_build_the_same_values_as_the_seed(tmp_path, table):
    out = normalize(module().transform(snapshot_of(tmp_path, {"a.csv": OLD.read_bytes(), "b.csv": NEW.read_bytes()})))
    got = out.set_index(["series_id", "geo", "date"])["value"]
    want = table.set_index(["series_id", "geo", "date"])["value"].reindex(got.index)
    pd.testing.assert_series_equal(got, want, check_names=False)
    assert yearly(out).loc[(f"{SID}.c2026_extorsion", "MX", 2026)] == 2_775


def test_blank_month_inside_the_range_is_dropped_not_zero(tmp_path):
    # Synthetic edit of a real row: Jalisco's 2024 Narcomenudeo, June blanked.
    lines = OLD.read_bytes().decode("latin-1").split("\r\n")
    i = next(k for k, line in enumerate(lines) if line.startswith("2024,14,") and ",Narcomenudeo," in line)
    cells = lines[i].split(",")
    cells[7 + 5] = ""
    lines[i] = ",".join(cells)
    out = module().transform(snapshot_of(tmp_path, {"a.csv": "\r\n".join(lines).encode("latin-1")}))
    key = set(zip(out["series_id"], out["geo"], out["date"]))
    june = pd.Timestamp("2024-06-01")
    assert (f"{SID}.narcomenudeo", "MX-JAL", june) not in key and (f"{SID}.narcomenudeo", "MX", june) not in key
    assert (f"{SID}.narcomenudeo", "MX-JAL", pd.Timestamp("2024-07-01")) in key
    assert (f"{SID}.extorsion", "MX", june) in key and out["value"].notna().all() and out["flag"].isna().all()


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace(",Narcomenudeo con fines de venta,", ",Narcomenudeo al menudeo,", 1),
     "not in the 2026 catalogue mapping"),
    (lambda t: t.replace("\n2026,14,", "\n2026,40,", 1), r"unknown state code\(s\) Clave_Ent \['40'\]"),
    (lambda t: t.replace("Tipo de delito", "Delito", 1), "missing column"),
    (lambda t: t.replace(",,,,,,,,,\n", ",,,,,,,,s/d,\n", 1), "non-numeric crime count 's/d'"),
    (lambda t: t.split("\n", 1)[0] + "\n", "no rows"),
])
def test_layout_changes_raise_parse_error(tmp_path, mutate, message):
    text = mutate(NEW.read_bytes().decode("latin-1"))
    with pytest.raises(ParseError, match=message):
        module().transform(snapshot_of(tmp_path, {"b.csv": text.encode("latin-1")}))


def test_a_2026_crime_in_a_2015_catalogue_year_fails(tmp_path):
    # Synthetic edit: a 2026-catalogue row relabelled as 2024 must not be read as the old catalogue.
    text = NEW.read_bytes().decode("latin-1").replace("\n2026,", "\n2024,")
    with pytest.raises(ParseError, match="not in the 2015 catalogue mapping"):
        module().transform(snapshot_of(tmp_path, {"b.csv": text.encode("latin-1")}))


def landing(local_server, *paths: str) -> str:
    links = "".join(f'<li><a href="{p}">{p.rsplit("/", 1)[-1]}</a></li>' for p in paths)
    body = f"<!DOCTYPE html><html><body><ul>{links}<li><a href='/x/IDVFC_NM_mar26.xlsx'>v</a></li></ul></body></html>"
    return local_server.route("/datos-abiertos", body=body.encode("utf-8"), headers={"Content-Type": "text/html"})


def test_fetch_downloads_every_state_file_on_the_page(data_dir, local_server, monkeypatch):
    local_server.route("/d/IDEFC_NM_nov24.csv", body=OLD.read_bytes(), etag='"a"')
    local_server.route("/d/IDEFC_NM_mar26.csv", body=NEW.read_bytes(), etag='"b"')
    monkeypatch.setattr(module(), "LANDING_URL", landing(local_server, "/d/IDEFC_NM_nov24.csv", "/d/IDEFC_NM_mar26.csv"))
    [first] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert first.status == "ok", first.error
    snap = etl.snapshot.latest_snapshot(SID)
    assert [f["name"] for f in snap.files] == ["IDEFC_NM_nov24.csv", "IDEFC_NM_mar26.csv"]
    df = pd.read_parquet(data_dir / "tidy" / f"{SID}.parquet")
    assert yearly(df).loc[(f"{SID}.narcomenudeo", "MX", 2015)] == 32_398
    assert yearly(df).loc[(f"{SID}.c2026_narcomenudeo", "MX", 2026)] == 25_010
    [second] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert second.status == "not_modified", second.error


def test_fetch_carries_over_a_catalogue_the_page_no_longer_links(data_dir, local_server, monkeypatch, seed_snapshot):
    # The page links only a 2026-catalogue file: the 2015-catalogue file of the previous snapshot is kept.
    local_server.route("/d/IDEFC_NM_abr26.csv", body=NEW.read_bytes())
    monkeypatch.setattr(module(), "LANDING_URL", landing(local_server, "/d/IDEFC_NM_abr26.csv"))
    previous = etl.snapshot.latest_snapshot(SID)
    ctx = FetchContext(http=Http(retries=0, timeout=5), source_id=SID, previous=previous, progress=lambda _: None)
    files = module().fetch(ctx)
    assert [f.name for f in files] == ["IDEFC_NM_abr26.csv", "estatal_fuero_comun_2015_nov2024.csv"]
    assert hashlib.md5(files[1].content).hexdigest() == previous.file(files[1].name)["md5"]  # publisher's bytes


def test_fetch_without_a_link_fails_naming_the_page(data_dir, local_server, monkeypatch):
    monkeypatch.setattr(module(), "LANDING_URL", landing(local_server))
    [res] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert res.status == "fallback" and "IDEFC" in res.error


def test_panel_metadata():
    from dashboard.registry import build

    reg = build({sid: src.meta for sid, src in etl.registry.all_sources().items()})
    panel = reg.panels["incidence"]
    assert (panel.geo_kind, panel.default_geo, panel.order, panel.default_on) == ("mx", "MX", 50, False)
    crime, catalogue = panel.facet("crime"), panel.facet("catalogue")
    assert crime.kind == "multi" and crime.default == ("narcomenudeo", "extorsion")
    assert catalogue.kind == "single" and catalogue.ids == ("2015", "2026") and catalogue.default == ("2015",)
    assert [b.date for b in panel.breaks] == ["2026-01-01"]
    assert any("catalogue" in n.text and not n.when for n in panel.active_notes({}))
    # one catalogue at a time: the default view draws only 2015-catalogue lines, the 2026 view only 2026 ones
    assert [s.id for s in panel.select({})] == [f"{SID}.narcomenudeo", f"{SID}.extorsion"]
    assert [s.id for s in panel.select({"catalogue": ("2026",)})] == [f"{SID}.c2026_narcomenudeo", f"{SID}.c2026_extorsion"]
    assert all(s.facet("catalogue") in {"2015", "2026"} for s in panel.series) and len(panel.series) == 146
    assert all(v.label_es for v in crime.values) and len({s.color for s in panel.series}) == len(panel.series)
    assert "not victims" in panel.description and "no víctimas" in panel.description_es
