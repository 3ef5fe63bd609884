"""URL state: bad input falls back to defaults with a notice, never raises; to_query round trips."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dashboard.state import DEFAULT, MILESTONE_CATEGORIES, ViewState, parse_query, to_query


def parse(q, valid_geos, milestone_ids):
    return parse_query(q, valid_geos, milestone_ids)


def test_empty_and_none_give_default(valid_geos, milestone_ids):
    for q in (None, "", "?"):
        p = parse(q, valid_geos, milestone_ids)
        assert p.state == DEFAULT
        assert p.notices == []


def test_valid_query_parses(valid_geos, milestone_ids):
    p = parse("?us_geo=US-AZ&transform=per100k&rolling=3&log=1&seize=fentanyl,methamphetamine"
              "&index_at=security-dialogue&hl=merida-announced&cats=&end=2023-12-01",
              valid_geos, milestone_ids)
    assert p.notices == []
    s = p.state
    assert (s.us_geo, s.transform, s.rolling, s.log) == ("US-AZ", "per100k", 3, True)
    assert s.seize == ("fentanyl", "methamphetamine")
    assert s.index_at == "security-dialogue"
    assert s.hl == "merida-announced"
    assert s.cats == ()  # empty is valid: hides every milestone
    assert s.end == "2023-12-01"


def test_unknown_parameter_is_ignored_with_notice(valid_geos, milestone_ids):
    p = parse("?bogus=1&us_geo=US-TX", valid_geos, milestone_ids)
    assert p.state == replace(DEFAULT, us_geo="US-TX")
    assert len(p.notices) == 1 and "bogus" in p.notices[0]


@pytest.mark.parametrize("query, field", [
    ("start=notadate", "start"),
    ("start=2020-02-30", "start"),
    ("start=20150101", "start"),
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
])
def test_bad_value_falls_back_to_default_with_notice(query, field, valid_geos, milestone_ids):
    p = parse("?" + query, valid_geos, milestone_ids)
    assert getattr(p.state, field) == getattr(DEFAULT, field)
    assert p.state == DEFAULT
    assert len(p.notices) == 1
    assert f"'{field}=" in p.notices[0] and "default" in p.notices[0]


def test_end_before_start_drops_end_with_notice(valid_geos, milestone_ids):
    p = parse("?start=2020-01-01&end=2019-06-01", valid_geos, milestone_ids)
    assert p.state.start == "2020-01-01"
    assert p.state.end == ""
    assert len(p.notices) == 1 and "before start" in p.notices[0]


def test_several_bad_parameters_each_get_a_notice(valid_geos, milestone_ids):
    p = parse("?us_geo=XX&start=notadate&bogus=1", valid_geos, milestone_ids)
    assert p.state == DEFAULT
    assert len(p.notices) == 3
    text = " ".join(p.notices)
    for name in ("us_geo", "start", "bogus"):
        assert name in text


@pytest.mark.parametrize("query", [
    "%zz=1", "=&&=", "us_geo", "a=%ff%fe", "start=" + "9" * 5000, "\x00=\x00", "?" * 10,
    "drugs=" + ",".join(["all_drugs"] * 500), "rolling=-3", "rolling=3.0", "log=",
])
def test_garbage_never_raises(query, valid_geos, milestone_ids):
    p = parse(query, valid_geos, milestone_ids)
    assert isinstance(p.state, ViewState)
    for n in p.notices:
        assert len(n) < 200  # the echoed value is truncated


def test_blank_dates_do_not_become_nat(valid_geos, milestone_ids):
    """``?start=`` / ``?index_at=`` must not silently yield the string 'NaT' (it empties every chart)."""
    for field in ("start", "index_at"):
        p = parse(f"?{field}=", valid_geos, milestone_ids)
        assert getattr(p.state, field) != "NaT", f"{field}= parsed to 'NaT' without a notice"
        assert getattr(p.state, field) == getattr(DEFAULT, field)


@pytest.mark.parametrize("state", [
    DEFAULT,
    replace(DEFAULT, us_geo="US-AZ", transform="per100k"),
    replace(DEFAULT, us_geo="US-TX", transform="index", index_at="security-dialogue",
            seize=("fentanyl", "methamphetamine")),
    replace(DEFAULT, mx_geo="MX-CHH", firearm=True, mx_sources=("sesnsp",), rolling=12, log=True),
    replace(DEFAULT, cbp_geo="US", measure="events", component="ofo", start="2019-10-01", end="2024-09-01"),
    replace(DEFAULT, cats=(), hl="lebaron-massacre", changepoints=True, predicted=True, lang="es"),
    replace(DEFAULT, cats=("agreement", "law"), drugs=("heroin",), transform="yoy", index_at="2020-01-01"),
])
def test_round_trip(state, valid_geos, milestone_ids):
    q = to_query(state)
    p = parse(q, valid_geos, milestone_ids)
    assert p.notices == []
    assert p.state == state


def test_to_query_is_minimal():
    assert to_query(DEFAULT) == ""
    q = to_query(replace(DEFAULT, us_geo="US-AZ", transform="per100k", log=True, cats=MILESTONE_CATEGORIES))
    assert q.startswith("?")
    assert sorted(q[1:].split("&")) == ["log=1", "transform=per100k", "us_geo=US-AZ"]


@pytest.mark.parametrize("query", ["start=NaT", "start=nan", "end=NaT", "index_at=NaT"])
def test_nat_literals_are_rejected(query, valid_geos, milestone_ids):
    p = parse("?" + query, valid_geos, milestone_ids)
    assert "NaT" not in (p.state.start, p.state.end, p.state.index_at)
    assert len(p.notices) == 1
