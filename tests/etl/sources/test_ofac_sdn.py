"""ofac_sdn: the PROVENANCE counts of every seeded list copy, the counting rule, and the fetcher.

Fixtures are real rows, byte for byte (CRLF, latin-1, the closing Ctrl-Z line):
- fixtures/ofac_sdn_2021-12-16_excerpt.csv: from the 2021-12-16 list copy, the 25 records then
  tagged ``ILLICIT-DRUGS-EO`` (EO 14059's first spelling), two SDNT (EO 12978) records and three
  Cuba-programme records;
- fixtures/ofac_add_2026-06-02_excerpt.csv: every row of the 2026-06-02 address file for those
  records.
Hand count of the excerpt (known answer): 8 narcotics records name Mexico in their Remarks, all
individuals (ent_num 7226, 11528, 11923, 13120, 13148, 13149, 15001, 17674); 9 more, all entities
(8237 Juarez Cartel, 10386, 10900, 11438, 11439, 11440 Sinaloa Cartel, 17671, 34182, 34197), have a
Mexico address.
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

SID = "ofac_sdn"
FIXTURES = Path(__file__).parent / "fixtures"
SDN_EXCERPT = FIXTURES / "ofac_sdn_2021-12-16_excerpt.csv"
ADD_EXCERPT = FIXTURES / "ofac_add_2026-06-02_excerpt.csv"
REMARKS_MEXICO = {7226, 11528, 11923, 13120, 13148, 13149, 15001, 17674}
ADDRESS_MEXICO = {8237, 10386, 10900, 11438, 11439, 11440, 17671, 34182, 34197}

# PROVENANCE.md "Counts": version -> (R, R individuals only, RA or RL with the flag it gets)
PROVENANCE = {
    "2015-01-01": (570, 389, 620, "lower_bound"),
    "2020-03-01": (675, 439, 756, None),
    "2021-04-01": (681, 440, 762, None),
    "2021-08-01": (652, 440, 723, "lower_bound"),
    "2021-10-01": (651, 448, 722, "lower_bound"),
    "2021-12-01": (640, 442, 713, "lower_bound"),
    "2022-12-01": (642, 447, 717, "lower_bound"),
    "2023-04-01": (681, 457, 759, "lower_bound"),
    "2023-12-01": (756, 512, 837, "lower_bound"),
    "2024-05-01": (772, 527, 858, "lower_bound"),
}


def module():
    return etl.registry.get_source(SID).module


def value(df: pd.DataFrame, suffix: str, date: str) -> float:
    row = df[(df["series_id"] == f"{SID}.{suffix}") & (df["date"] == pd.Timestamp(date))]
    assert len(row) == 1, (suffix, date, row)
    return row["value"].iloc[0]


def flag(df: pd.DataFrame, suffix: str, date: str):
    row = df[(df["series_id"] == f"{SID}.{suffix}") & (df["date"] == pd.Timestamp(date))]
    return row["flag"].iloc[0]


def loose_snapshot(tmp_path: Path, files: dict[str, bytes]) -> etl.snapshot.Snapshot:
    """A snapshot outside the raw folder: transformed on its own."""
    entries = []
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
        entries.append({"name": name, "url": f"https://test.invalid/{name}", "md5": hashlib.md5(content).hexdigest(),
                        "list_date": "2021-12-16"})
    return etl.snapshot.Snapshot(SID, tmp_path, {"files": entries})


@pytest.mark.parametrize("date", PROVENANCE)
def test_provenance_counts_per_list_copy(table, date):
    remarks, individuals, with_address, address_flag = PROVENANCE[date]
    assert value(table, "mx_narcotics_entries", date) == remarks
    assert value(table, "mx_narcotics_entries_individuals", date) == individuals
    assert value(table, "mx_narcotics_entries_incl_address", date) == with_address
    assert flag(table, "mx_narcotics_entries_incl_address", date) == address_flag


def test_headline_before_and_after_eo_14059(table):
    # PROVENANCE headline: 652 (440 individuals / 212 entities) in Aug 2021, 772 (527 / 245) in May 2024.
    assert [value(table, s, "2021-08-01") for s in ("mx_narcotics_entries", "mx_narcotics_entries_individuals",
                                                    "mx_narcotics_entries_entities")] == [652, 440, 212]
    assert [value(table, s, "2024-05-01") for s in ("mx_narcotics_entries", "mx_narcotics_entries_individuals",
                                                    "mx_narcotics_entries_entities")] == [772, 527, 245]


def test_one_point_per_list_copy_on_the_first_of_its_month(table):
    assert sorted(table["date"].dt.strftime("%Y-%m-%d").unique()) == list(PROVENANCE)
    assert set(table["geo"]) == {"MX"} and set(table["unit"]) == {"entries"}
    assert table.groupby("series_id").size().eq(len(PROVENANCE)).all()


def test_eo_14059_first_spelling_is_counted(table):
    # 2021-12-16 is the only seeded copy that spells the tag ILLICIT-DRUGS-EO: 8 Mexico-linked records carry it.
    assert value(table, "mx_narcotics_entries_eo14059", "2021-12-01") == 8
    assert value(table, "mx_narcotics_entries_eo14059", "2021-10-01") == 0  # before the order (15 Dec 2021)
    assert value(table, "mx_narcotics_entries_eo14059", "2024-05-01") > value(table, "mx_narcotics_entries_eo14059",
                                                                             "2022-12-01") > 0


def test_records_counted_once_not_per_tag(table):
    for date in PROVENANCE:
        total = value(table, "mx_narcotics_entries", date)
        # no vessel or aircraft is Mexico-linked: individuals + entities is the whole count
        assert value(table, "mx_narcotics_entries_individuals", date) + value(
            table, "mx_narcotics_entries_entities", date) == total
        by_programme = sum(value(table, f"mx_narcotics_entries_{p}", date) for p in ("kingpin_act", "eo14059", "eo12978"))
        assert by_programme >= total
    # May 2024: Zambada García and others carry both SDNTK and EO 14059, so the programmes overlap.
    assert sum(value(table, f"mx_narcotics_entries_{p}", "2024-05-01") for p in ("kingpin_act", "eo14059", "eo12978")) \
        == 599 + 172 + 9 > value(table, "mx_narcotics_entries", "2024-05-01") == 772


def test_excerpt_hand_count_and_both_spellings(tmp_path):
    raw = SDN_EXCERPT.read_bytes()
    assert raw.endswith(b"\r\n\x1a") and raw.count(b'ILLICIT-DRUGS-EO"') + raw.count(b"ILLICIT-DRUGS-EO]") == 25
    out = module().transform(loose_snapshot(tmp_path, {"sdn.csv": raw, "add.csv": ADD_EXCERPT.read_bytes()}))
    assert value(out, "mx_narcotics_entries", "2021-12-01") == len(REMARKS_MEXICO)
    assert value(out, "mx_narcotics_entries_individuals", "2021-12-01") == len(REMARKS_MEXICO)
    assert value(out, "mx_narcotics_entries_eo14059", "2021-12-01") == len(REMARKS_MEXICO)
    assert value(out, "mx_narcotics_entries_incl_address", "2021-12-01") == len(REMARKS_MEXICO | ADDRESS_MEXICO)
    assert flag(out, "mx_narcotics_entries_incl_address", "2021-12-01") is None  # its own address file
    # the later spelling gives the same counts
    renamed = raw.replace(b'ILLICIT-DRUGS-EO"', b'ILLICIT-DRUGS-EO14059"').replace(b"ILLICIT-DRUGS-EO]",
                                                                                   b"ILLICIT-DRUGS-EO14059]")
    again = module().transform(loose_snapshot(tmp_path, {"sdn.csv": renamed, "add.csv": ADD_EXCERPT.read_bytes()}))
    pd.testing.assert_frame_equal(out, again)


def test_pipe_delimited_layout_reads_the_same(tmp_path):
    # OFAC's .pip files: the same fields with | in place of , (the 2020-03-07 seed is one).
    rows = pd.read_csv(SDN_EXCERPT, header=None, dtype=str, keep_default_na=False, encoding="latin-1")
    pip = rows.to_csv(sep="|", header=False, index=False).encode("latin-1")
    out = module().transform(loose_snapshot(tmp_path, {"sdn.pip": pip}))
    assert value(out, "mx_narcotics_entries", "2021-12-01") == len(REMARKS_MEXICO)
    assert f"{SID}.mx_narcotics_entries_incl_address" not in set(out["series_id"])  # no address file at all


def test_as_of_an_older_snapshot():
    # The revisions view builds each snapshot: it sees the list copies up to that date, and no later address file.
    aug = next(s for s in etl.snapshot.list_snapshots(SID) if s.name == "2021-08-18")
    df = etl.pipeline.build_table(etl.registry.get_source(SID), aug)
    assert df["date"].max() == pd.Timestamp("2021-08-01")
    assert sorted(df["date"].dt.strftime("%Y-%m").unique()) == ["2015-01", "2020-03", "2021-04", "2021-08"]
    assert value(df, "mx_narcotics_entries", "2021-08-01") == 652
    # 2021-08 has no address file: the newest known then (2021-04's) is used, as a lower bound
    assert flag(df, "mx_narcotics_entries_incl_address", "2021-08-01") == "lower_bound"
    assert value(df, "mx_narcotics_entries_incl_address", "2021-04-01") == 762


def test_seed_manifests_record_the_publishers_bytes():
    for snap in etl.snapshot.list_snapshots(SID):
        snap.verify()  # md5/sha256/size of the decompressed publisher file
        for f in snap.files:
            assert f["stored_as"] == "xz" and snap.path(f["name"]).name == f["name"] + ".xz"
    may = next(s for s in etl.snapshot.list_snapshots(SID) if s.name == "2024-05-03")
    # PROVENANCE.md: sha256 and size of Treasury's sdn.csv scraped 2024-05-03
    assert may.file("sdn.csv")["sha256"] == "210ca6b4a8187a34e0850be69ecc6e918f23ad7778b8b5b2f9c9d5fbbaf4e0cb"
    assert may.file("sdn.csv")["size"] == 3_909_739


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b.replace(b"\r\n", b',"extra"\r\n'), "13 fields per row, expected 12"),
    (lambda b: b.replace(b"SDNTK", b"SDNXX").replace(b"ILLICIT-DRUGS-EO", b"OTHER").replace(b'"SDNT"', b'"X"'),
     "no record under a narcotics programme"),
    (lambda b: b"\r\n".join(b"x" + line for line in b.split(b"\r\n")), "no records"),
])
def test_layout_changes_raise_parse_error(tmp_path, mutate, message):
    with pytest.raises(ParseError, match=message):
        module().transform(loose_snapshot(tmp_path, {"sdn.csv": mutate(SDN_EXCERPT.read_bytes())}))


def test_unknown_file_in_snapshot_is_an_error(tmp_path):
    with pytest.raises(ParseError, match="neither an SDN list"):
        module().transform(loose_snapshot(tmp_path, {"alt.csv": SDN_EXCERPT.read_bytes()}))


def test_fetch_adds_a_point_to_the_seeded_series(data_dir, local_server, monkeypatch):
    sdn_url = local_server.route("/exports/SDN.CSV", body=SDN_EXCERPT.read_bytes(), etag='"sdn-1"',
                                 headers={"Last-Modified": "Wed, 25 Nov 2026 14:00:00 GMT"})
    add_url = local_server.route("/exports/ADD.CSV", body=ADD_EXCERPT.read_bytes())
    monkeypatch.setattr(module(), "SDN_URL", sdn_url)
    monkeypatch.setattr(module(), "ADD_URL", add_url)
    [first] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert first.status == "ok", first.error
    snap = etl.snapshot.latest_snapshot(SID)
    assert [f["name"] for f in snap.files] == ["sdn.csv", "add.csv"] and snap.file("sdn.csv")["etag"] == '"sdn-1"'
    df = pd.read_parquet(data_dir / "tidy" / f"{SID}.parquet")
    # the new copy (dated by Last-Modified) joins the ten seeded ones
    assert df["date"].nunique() == len(PROVENANCE) + 1
    assert value(df, "mx_narcotics_entries", "2026-11-01") == len(REMARKS_MEXICO)
    assert value(df, "mx_narcotics_entries_incl_address", "2026-11-01") == len(REMARKS_MEXICO | ADDRESS_MEXICO)
    assert pd.isna(flag(df, "mx_narcotics_entries_incl_address", "2026-11-01"))  # its own address file
    assert value(df, "mx_narcotics_entries", "2024-05-01") == 772
    # older copies without an address file now use the fetched one (still flagged as lower bounds)
    assert flag(df, "mx_narcotics_entries_incl_address", "2024-05-01") == "lower_bound"
    [second] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert second.status == "not_modified", second.error
    assert local_server.hits("/exports/ADD.CSV") == 1  # an unchanged list: the address file is not fetched again
