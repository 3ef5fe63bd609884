"""URL state: bad input falls back to defaults with a notice, never raises; to_query round trips;
old parameter names stay aliases of the registry's per-panel parameters."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dashboard import store
from dashboard.i18n import t
from dashboard.state import (
    MAX_PARAMS, MAX_QUERY, MILESTONE_CATEGORIES, ViewState, default_state, parse_query, parse_values, to_query,
)


@pytest.fixture(scope="module")
def parse(reg, valid_geos, milestone_ids):
    return lambda q: parse_query(q, reg, valid_geos, milestone_ids)


@pytest.fixture(scope="module")
def DEFAULT(reg):
    return default_state(reg)


def worded(p) -> list[str]:
    return [t(k, "en", **params) for k, params in p.notices]


def test_default_view_is_the_three_panels_of_the_first_version(DEFAULT):
    assert DEFAULT.panels == ("deaths", "homicides", "seizures")
    assert DEFAULT.panel("deaths").geo == "US" and DEFAULT.panel("deaths").get("drug") == ("all_drugs", "synthetic_opioids")
    assert DEFAULT.panel("homicides").get("source") == ("sesnsp", "inegi")
    assert DEFAULT.panel("seizures").geo == "CBP-SWB" and DEFAULT.panel("seizures").get("measure") == ("lbs",)


def test_empty_and_none_give_default(parse, DEFAULT):
    for q in (None, "", "?"):
        p = parse(q)
        assert p.state == DEFAULT
        assert p.notices == []


def test_valid_query_parses(parse):
    p = parse("?us_geo=US-AZ&transform=per100k&rolling=3&log=1&seize=fentanyl,methamphetamine"
              "&index_at=security-dialogue&hl=merida-announced&cats=&end=2023-12-01")
    assert p.notices == []
    s = p.state
    assert (s.panel("deaths").geo, s.transform, s.rolling, s.log) == ("US-AZ", "per100k", 3, True)
    assert s.panel("seizures").get("drug") == ("fentanyl", "methamphetamine")
    assert s.index_at == "security-dialogue"
    assert s.hl == "merida-announced"
    assert s.cats == ()  # empty is valid: hides every milestone
    assert s.end == "2023-12-01"


def test_old_names_and_canonical_names_are_the_same_parameter(parse):
    old = parse("?drugs=heroin&predicted=1&mx_sources=inegi&firearm=1&component=ofo").state
    new = parse("?deaths.drug=heroin&deaths.variant=1&homicides.source=inegi&homicides.weapon=1"
                "&seizures.component=ofo").state
    assert old == new
    assert old.panel("deaths").get("variant") == ("predicted",)


def test_unknown_parameter_is_ignored_with_notice(parse, DEFAULT):
    p = parse("?bogus=1&us_geo=US-TX")
    assert p.state == DEFAULT.with_panel("deaths", geo="US-TX")
    assert len(p.notices) == 1 and "bogus" in worded(p)[0]


@pytest.mark.parametrize("query, param", [
    ("start=notadate", "start"),
    ("start=2020-02-30", "start"),
    ("start=20150101", "start"),
    ("start=1800-01-01", "start"),
    ("end=yesterday", "end"),
    ("index_at=not-a-milestone", "index_at"),
    ("us_geo=XX", "us_geo"),
    ("us_geo=us-az", "us_geo"),          # codes are case-sensitive
    ("mx_geo=US-AZ", "mx_geo"),          # a US code is not a Mexican geography
    ("cbp_geo=MX", "cbp_geo"),
    ("transform=log", "transform"),
    ("transform=", "transform"),
    ("measure=kg", "measure"),
    ("component=air", "component"),
    ("rolling=5", "rolling"),
    ("rolling=abc", "rolling"),
    ("log=maybe", "log"),
    ("drugs=all_drugs,crack", "drugs"),
    ("drugs=,,", "drugs"),
    ("seize=", "seize"),
    ("mx_sources=sesnsp,x", "mx_sources"),
    ("cats=agreement,gossip", "cats"),
    ("hl=no-such-milestone", "hl"),
    ("lang=fr", "lang"),
    ("panels=deaths,nope", "panels"),
])
def test_bad_value_falls_back_to_default_with_notice(query, param, parse, DEFAULT):
    p = parse("?" + query)
    assert p.state == DEFAULT
    assert len(p.notices) == 1
    key, params = p.notices[0]
    assert key == "notice.bad_param" and params["param"] == param
    assert "default" in worded(p)[0]


def test_end_before_start_drops_end_with_notice(parse):
    p = parse("?start=2020-01-01&end=2019-06-01")
    assert p.state.start == "2020-01-01"
    assert p.state.end == ""
    assert len(p.notices) == 1 and "before start" in worded(p)[0]


def test_several_bad_parameters_each_get_a_notice(parse, DEFAULT):
    p = parse("?us_geo=XX&start=notadate&bogus=1")
    assert p.state == DEFAULT
    assert len(p.notices) == 3
    text = " ".join(worded(p))
    for name in ("us_geo", "start", "bogus"):
        assert name in text


def test_repeated_parameter_last_one_wins(parse):
    p = parse("?us_geo=US-AZ&us_geo=US-TX&transform=yoy&transform=per100k")
    assert p.notices == []
    assert p.state.panel("deaths").geo == "US-TX" and p.state.transform == "per100k"


def test_lists_are_deduplicated_and_bounded(parse):
    p = parse("?drugs=" + ",".join(["heroin"] * 10_000))
    # 10,000 items exceed the query and value caps: the default stays, with a notice for each.
    assert [k for k, _ in p.notices] == ["notice.query_too_long", "notice.bad_param"]
    assert p.state.panel("deaths").get("drug") == ("all_drugs", "synthetic_opioids")
    p = parse("?drugs=heroin,heroin,cocaine,heroin")
    assert p.state.panel("deaths").get("drug") == ("heroin", "cocaine")


def test_query_and_parameter_counts_are_capped(parse):
    p = parse("?" + "&".join(f"x{i}=1" for i in range(MAX_PARAMS * 3)))
    assert ("notice.too_many_params", {"n": MAX_PARAMS}) in p.notices
    assert len(p.notices) <= MAX_PARAMS + 1
    p = parse("?start=" + "1" * (MAX_QUERY * 2))
    assert p.notices[0] == ("notice.query_too_long", {"n": MAX_QUERY})


@pytest.mark.parametrize("query", [
    "%zz=1", "=&&=", "us_geo", "a=%ff%fe", "start=" + "9" * 5000, "\x00=\x00", "?" * 10,
    "drugs=" + ",".join(["all_drugs"] * 500), "rolling=-3", "rolling=3.0", "log=",
])
def test_garbage_never_raises(query, parse):
    p = parse(query)
    assert isinstance(p.state, ViewState)
    for n in worded(p):
        assert len(n) < 200  # the echoed value is truncated


def test_control_payload_values_of_any_type_never_raise(reg, valid_geos, milestone_ids, DEFAULT):
    """A forged callback payload: lists of dicts, numbers, nested lists, None."""
    for bad in ([{"a": 1}], [[1, 2]], 3.5, None, True, {"x": 1}, ["heroin", None]):
        p = parse_values({"deaths.drug": bad, "start": bad, "us_geo": bad}, reg, valid_geos, milestone_ids)
        assert isinstance(p.state, ViewState)


def test_blank_dates_do_not_become_nat(parse, DEFAULT):
    """``?start=`` / ``?index_at=`` must not silently yield the string 'NaT' (it empties every chart)."""
    for field in ("start", "index_at"):
        p = parse(f"?{field}=")
        assert getattr(p.state, field) != "NaT", f"{field}= parsed to 'NaT' without a notice"
        assert getattr(p.state, field) == getattr(DEFAULT, field)


def states(DEFAULT):
    return [
        DEFAULT,
        replace(DEFAULT.with_panel("deaths", geo="US-AZ"), transform="per100k"),
        replace(DEFAULT.with_panel("deaths", geo="US-TX").with_panel("seizures", drug=("fentanyl", "methamphetamine")),
                transform="index", index_at="security-dialogue"),
        replace(DEFAULT.with_panel("homicides", geo="MX-CHH", weapon=("firearm",), source=("sesnsp",)),
                rolling=12, log=True),
        replace(DEFAULT.with_panel("seizures", geo="US", measure=("events",), component=("ofo",)),
                start="2019-10-01", end="2024-09-01"),
        replace(DEFAULT.with_panel("deaths", variant=("predicted",)), cats=(), hl="lebaron-massacre",
                changepoints=True, lang="es"),
        replace(DEFAULT.with_panel("deaths", drug=("heroin",)), cats=("agreement", "law"), transform="yoy",
                index_at="2020-01-01"),
        replace(DEFAULT, panels=("deaths", "lab_reports", "federal_crimes"), x0="2019-01-01", x1="2022-06-01"),
    ]


@pytest.mark.parametrize("i", range(8))
def test_round_trip(i, parse, reg, DEFAULT):
    state = states(DEFAULT)[i]
    q = to_query(state, reg)
    p = parse(q)
    assert p.notices == []
    assert p.state == state


def test_to_query_is_minimal(reg, DEFAULT):
    assert to_query(DEFAULT, reg) == ""
    q = to_query(replace(DEFAULT.with_panel("deaths", geo="US-AZ"), transform="per100k", log=True,
                         cats=MILESTONE_CATEGORIES), reg)
    assert q.startswith("?")
    assert sorted(q[1:].split("&")) == ["log=1", "transform=per100k", "us_geo=US-AZ"]


@pytest.mark.parametrize("query", ["start=NaT", "start=nan", "end=NaT", "index_at=NaT"])
def test_nat_literals_are_rejected(query, parse):
    p = parse("?" + query)
    assert "NaT" not in (p.state.start, p.state.end, p.state.index_at)
    assert len(p.notices) == 1


def test_geography_lists_come_from_the_vocabulary_and_the_geography_table():
    """Each kind of the vocabulary lists exactly the table's rows of its kinds and country, the
    country first: a state or CBP area added to the table appears without a code change."""
    from etl import vocabulary
    from etl.reference import geo_table

    g, codes = geo_table(), store.geo_codes()
    assert set(codes) == set(vocabulary.geo_kinds())
    for key, kind in vocabulary.geo_kinds().items():
        rows = g[g["kind"].isin(kind.kinds) & ((g["country"] == kind.country) if kind.country else True)]
        assert sorted(codes[key]) == sorted(rows["geo"]), key
        assert len(set(codes[key])) == len(codes[key])
    assert codes["us"][0] == "US" and codes["mx"][0] == "MX" and codes["cbp"][0] == "US"
    assert {"US-NYC", "US-TX"} <= set(codes["us"]) and "CBP-SWB" in codes["cbp"] and len(codes["mx"]) == 33
