"""The milestone registry users edit: every bad row is named with its field; every seed
milestone reads in English and Spanish, and a user's row without Spanish still loads."""

import csv
import logging
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import etl
from dashboard.figures import milestone_layer
from etl import paths
from etl.policy_milestones import MilestoneError, load_milestones

SEED = paths.REPO_ROOT / "data" / "milestones"


@pytest.fixture
def registry(tmp_path) -> Path:
    for f in SEED.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "milestones.csv"


def _append(path: Path, line: str) -> int:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n" + line + "\n", encoding="utf-8")
    return len(text.rstrip("\n").splitlines()) + 1  # the new row's line number, header = 1


def test_seed_registry_loads_every_row_with_citations():
    ms = load_milestones()
    seed = pd.read_csv(SEED / "milestones.csv")
    assert len(ms) == len(seed) >= 15
    assert ms["source_url"].str.startswith("https://").all()
    assert ms["date"].is_monotonic_increasing
    dialogue = ms.set_index("id").loc["security-dialogue"]
    assert dialogue["date"] == pd.Timestamp("2021-10-08") and dialogue["in_article"]
    merida = ms.set_index("id").loc["merida-funded"]
    assert [a["date"] for a in merida["alt_dates"]] == [pd.Timestamp("2007-10-22"), pd.Timestamp("2008-12-03")]
    assert all(a["source_url"].startswith("https://") for a in merida["alt_dates"])


@pytest.mark.parametrize("line, field, problem", [
    ("bad-date,2021-13-40,policy,US,false,T,T,d,d_es,https://example.org", "date", "not a date"),
    ("no-date,,policy,US,false,T,T,d,d_es,https://example.org", "date", "required"),
    ("no-url,2021-01-01,policy,US,false,T,T,d,d_es,", "source_url", "required"),
    ("bad-url,2021-01-01,policy,US,false,T,T,d,d_es,example.org/x", "source_url", "not an http(s) URL"),
    ("security-dialogue,2021-01-01,policy,US,false,T,T,d,d_es,https://example.org", "id", "duplicate id"),
    ("new-one,2021-01-01,festival,US,false,T,T,d,d_es,https://example.org", "category", "unknown category"),
    ("new-two,2021-01-01,policy,CA,false,T,T,d,d_es,https://example.org", "countries", "use US, MX"),
    ("new-three,2021-01-01,policy,US,maybe,T,T,d,d_es,https://example.org", "in_article", "true or false"),
])
def test_bad_row_names_file_row_and_field(registry, line, field, problem):
    row = _append(registry, line)
    with pytest.raises(MilestoneError) as err:
        load_milestones(registry)
    msg = str(err.value)
    assert f"milestones.csv row {row}, field '{field}'" in msg and problem in msg


def test_missing_column_is_named(registry):
    text = registry.read_text(encoding="utf-8").replace("source_url", "url", 1)
    registry.write_text(text, encoding="utf-8")
    with pytest.raises(MilestoneError, match=r"missing column\(s\) \['source_url'\]"):
        load_milestones(registry)


def test_alternative_date_for_unknown_milestone_is_named(registry):
    alt = registry.with_name("alternative_dates.csv")
    row = _append(alt, "nope,2020-01-01,label,etiqueta,https://example.org")
    with pytest.raises(MilestoneError, match=rf"alternative_dates.csv row {row}, field 'milestone_id'"):
        load_milestones(registry)


def test_user_added_row_appears_in_date_order(registry):
    _append(registry, "my-event,2020-01-15,policy,MX,false,My event,Mi evento,desc,desc_es,https://example.org/e")
    ms = load_milestones(registry)
    assert "my-event" in set(ms["id"])
    assert ms["date"].is_monotonic_increasing


def _seed_rows() -> list[dict]:
    with (SEED / "milestones.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", text))


def test_every_seed_milestone_has_a_spanish_description_keeping_its_figures():
    rows = _seed_rows()
    header = list(rows[0])
    assert header.index("description_es") == header.index("description_en") + 1
    for r in rows:
        assert r["description_es"].strip(), f"seed milestone {r['id']} has no description_es"
        assert r["description_es"] != r["description_en"], f"{r['id']}: description_es is the English text"
        # A translation keeps every figure and date of the English one (329-98, $465 million, 1.8 million ...).
        assert _numbers(r["description_en"]) <= _numbers(r["description_es"]), r["id"]
    ms = load_milestones()
    assert not ms["description_es_fallback"].any()
    one = ms.set_index("id").loc["foreign-agents-law"]
    assert "Cámara de Diputados" in one["description_es"] and "329 votos contra 98" in one["description_es"]
    bicentennial = ms.set_index("id").loc["security-dialogue"]["description_es"]
    assert "Entendimiento Bicentenario sobre Seguridad, Salud Pública y Comunidades Seguras" in bicentennial


# The seed registry's dates and citations as published before the Spanish column was added:
# inserting a column must not move a value into its neighbour.
SEED_DATES_AND_CITATIONS = {
    "merida-announced": ("2007-10-22", "https://www.everycrsreport.com/files/20080318_RS22837_56aa226b757ae63563e8a19d97b2956dd2d37003.html"),
    "merida-funded": ("2008-06-30", "https://www.hsdl.org/?abstract&did=739482"),
    "lebaron-massacre": ("2019-11-04", "https://www.efe.com/efe/english/world/trump-to-designate-mexico-drug-cartels-as-terror-organizations/50000262-4120223"),
    "trump-terrorist-designation": ("2019-11-26", "https://www.pri.org/file/2019-11-27/trump-wants-designate-mexican-cartels-terrorists"),
    "cienfuegos-arrest": ("2020-10-15", "https://losangeles.cbslocal.com/2020/10/16/former-mexican-secretary-national-defense-salvador-cienfuegos-arrested-lax/"),
    "foreign-agents-law": ("2020-12-15", "https://www.loc.gov/item/global-legal-monitor/2021-01-25/mexico-amendment-reforming-national-security-law-approved/"),
    "harris-visit": ("2021-06-08", "https://www.arkansasonline.com/news/2021/jun/09/new-era-touted-in-mexico-visit/"),
    "merida-declared-dead": ("2021-07-29", "https://thehill.com/policy/international/565439-mexico-says-security-initiative-with-us-doesnt-work-is-dead"),
    "sullivan-delegation": ("2021-08-10", "https://www.whitehouse.gov/briefing-room/statements-releases/2021/08/11/readout-from-nsc-spokesperson-emily-horne-on-senior-administration-official-travel-to-mexico/"),
    "economic-dialogue": ("2021-09-09", "https://www.whitehouse.gov/briefing-room/statements-releases/2021/08/11/readout-from-nsc-spokesperson-emily-horne-on-senior-administration-official-travel-to-mexico/"),
    "organized-crime-index": ("2021-09-28", "https://ocindex.net/"),
    "dea-fentanyl-surge": ("2021-09-30", "https://www.justice.gov/opa/speech/deputy-attorney-general-lisa-monaco-delivers-remarks-announcing-drug-enforcement-and"),
    "security-dialogue": ("2021-10-08", "https://www.presidency.ucsb.edu/documents/fact-sheet-us-mexico-high-level-security-dialogue"),
    "bicentennial-action-plan": ("2021-12-14", "https://www.bullfrag.com/mexico-and-the-united-states-begin-the-bicentennial-understanding-mundodehoy-com/"),
    "security-dialogue-2": ("2022-10-13", "https://thediplomaticinsight.com/us-mexico-discuss-implementation-of-bicentennial-framework"),
}


def test_spanish_column_leaves_dates_and_citations_unchanged():
    ms = etl.milestones().set_index("id")   # the read API the dashboard's store uses
    assert {"description_en", "description_es", "description_es_fallback"} <= set(ms.columns)
    assert set(ms.index) == set(SEED_DATES_AND_CITATIONS)
    for mid, (date, url) in SEED_DATES_AND_CITATIONS.items():
        assert ms.loc[mid, "date"] == pd.Timestamp(date), mid
        assert ms.loc[mid, "source_url"] == url, mid
    assert not ms["description_es"].str.contains("https?://").any()


def test_user_row_without_spanish_falls_back_to_english_with_a_warning(registry, caplog):
    row = _append(registry, "my-event,2020-01-15,policy,MX,false,My event,,What happened.,,https://example.org/e")
    with caplog.at_level(logging.WARNING, logger="etl.policy_milestones"):
        ms = load_milestones(registry)
    mine = ms.set_index("id").loc["my-event"]
    assert mine["description_es"] == "What happened." and mine["title_es"] == "My event"
    assert mine["description_es_fallback"]
    assert mine["source_url"] == "https://example.org/e" and mine["date"] == pd.Timestamp("2020-01-15")
    assert ms["description_es_fallback"].sum() == 1
    assert f"milestones.csv: no description_es on row(s) {row}" in caplog.text


def test_registry_without_the_spanish_column_still_loads(registry):
    # A registry kept from before description_es existed: every row falls back to English.
    with registry.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with registry.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[c for c in rows[0] if c != "description_es"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    ms = load_milestones(registry)
    assert len(ms) == len(rows) and ms["description_es_fallback"].all()
    assert (ms["description_es"] == ms["description_en"]).all()


def test_row_typed_in_the_older_nine_field_form_loads_in_english(registry):
    # A row appended as the registry was before description_es (no cell for it) is read in
    # that form: its citation stays a citation and the Spanish view shows the English text.
    _append(registry, "old-form,2021-01-01,policy,US,false,T,T,d,https://example.org/o")
    old = load_milestones(registry).set_index("id").loc["old-form"]
    assert old["source_url"] == "https://example.org/o" and old["description_es"] == "d"
    assert old["description_es_fallback"]


def test_row_missing_another_cell_is_named_instead_of_shifting_fields(registry):
    row = _append(registry, "short,2021-01-01,policy,US,T,T,d,https://example.org")
    with pytest.raises(MilestoneError, match=rf"milestones.csv row {row}: 8 fields but the header has 10"):
        load_milestones(registry)


def test_alternative_dates_have_spanish_labels():
    merida = load_milestones().set_index("id").loc["merida-funded"]
    assert [a["label_es"] for a in merida["alt_dates"]] == [
        "Anuncio (declaración conjunta de Estados Unidos y México)", "Se firma la primera Carta de Acuerdo"]


def test_alternative_date_without_spanish_label_shows_the_english_one(registry, caplog):
    row = _append(registry.with_name("alternative_dates.csv"), "security-dialogue,2021-10-08,Joint statement,,https://example.org/s")
    with caplog.at_level(logging.WARNING, logger="etl.policy_milestones"):
        alt = load_milestones(registry).set_index("id").loc["security-dialogue", "alt_dates"]
    assert alt == [{"date": pd.Timestamp("2021-10-08"), "label": "Joint statement", "label_es": "Joint statement",
                    "source_url": "https://example.org/s"}]
    assert f"alternative_dates.csv: no label_es on row(s) {row}" in caplog.text


def test_spanish_hover_shows_the_spanish_description():
    ms = etl.milestones()
    one = ms[ms["id"] == "cienfuegos-arrest"]
    traces, _shapes, _ann = milestone_layer(one, lang="es")
    hover = traces[0]["hovertext"][0].replace("<br>", " ")
    assert "secretario de la Defensa Nacional de México de 2012 a 2018" in hover
    assert "Retired general" not in hover
