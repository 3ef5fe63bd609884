"""The view's state, all of it in the URL query string.

``parse_query`` never raises: a malformed or unknown parameter falls back to its default and
adds a notice the page shows, so a hand-edited or truncated link still opens a sane view.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from urllib.parse import parse_qs, urlencode

import pandas as pd

DEATH_CLASSES = ("all_drugs", "synthetic_opioids", "heroin", "cocaine", "psychostimulants",
                 "all_opioids", "natural_semisynthetic_opioids", "methadone")
SEIZURE_DRUGS = ("fentanyl", "methamphetamine", "cocaine", "heroin", "marijuana", "other")
MX_SOURCES = ("sesnsp", "inegi")
TRANSFORMS = ("counts", "per100k", "index", "yoy")
MEASURES = ("lbs", "events")
COMPONENTS = ("all", "ofo", "usbp")
ROLLING = (0, 3, 6, 12)
LANGS = ("en", "es")
MILESTONE_CATEGORIES = ("agreement", "dialogue", "enforcement", "law", "policy", "report", "violence")


@dataclass(frozen=True)
class ViewState:
    us_geo: str = "US"
    mx_geo: str = "MX"
    cbp_geo: str = "CBP-SWB"
    drugs: tuple[str, ...] = ("all_drugs", "synthetic_opioids")
    predicted: bool = False
    mx_sources: tuple[str, ...] = ("sesnsp", "inegi")
    firearm: bool = False
    seize: tuple[str, ...] = ("fentanyl",)
    measure: str = "lbs"
    component: str = "all"
    start: str = "2015-01-01"
    end: str = ""
    transform: str = "counts"
    index_at: str = "2019-01-01"
    rolling: int = 0
    log: bool = False
    cats: tuple[str, ...] = MILESTONE_CATEGORIES
    hl: str = ""
    changepoints: bool = False
    lang: str = "en"


DEFAULT = ViewState()


@dataclass(frozen=True)
class Parsed:
    state: ViewState
    notices: list[str] = field(default_factory=list)


def _bool(v: str) -> bool:
    if v.lower() in {"1", "true", "yes", "on"}:
        return True
    if v.lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError


def _date(v: str) -> str:
    # pd.to_datetime accepts "NaT" and "nan" without complaint: reject them here.
    ts = pd.to_datetime(v, format="%Y-%m-%d") if v else pd.NaT
    if pd.isna(ts):
        raise ValueError(f"not a date: {v!r}")
    return ts.date().isoformat()


def _choice(options):
    def parse(v: str) -> str:
        if v not in options:
            raise ValueError
        return v
    return parse


def _multi(options):
    def parse(v: str) -> tuple[str, ...]:
        items = tuple(x for x in v.split(",") if x)
        if not items or any(x not in options for x in items):
            raise ValueError
        return items
    return parse


def _categories(v: str) -> tuple[str, ...]:
    """Empty is valid here: it hides every milestone."""
    return _multi(MILESTONE_CATEGORIES)(v) if v else ()


def parsers(valid_geos: dict[str, set[str]], milestone_ids: set[str]) -> dict:
    """Parser per parameter; geo and milestone validity come from the loaded data."""
    return {
        "us_geo": _choice(valid_geos["us"]),
        "mx_geo": _choice(valid_geos["mx"]),
        "cbp_geo": _choice(valid_geos["cbp"]),
        "drugs": _multi(DEATH_CLASSES),
        "predicted": _bool,
        "mx_sources": _multi(MX_SOURCES),
        "firearm": _bool,
        "seize": _multi(SEIZURE_DRUGS),
        "measure": _choice(MEASURES),
        "component": _choice(COMPONENTS),
        "start": _date,
        "end": lambda v: _date(v) if v else "",
        "transform": _choice(TRANSFORMS),
        "index_at": lambda v: v if v in milestone_ids else _date(v),
        "rolling": lambda v: int(_choice({str(r) for r in ROLLING})(v)),
        "log": _bool,
        "cats": _categories,
        "hl": lambda v: _choice(milestone_ids | {""})(v),
        "changepoints": _bool,
        "lang": _choice(LANGS),
    }


def parse_query(search: str | None, valid_geos: dict[str, set[str]], milestone_ids: set[str]) -> Parsed:
    """``?us_geo=US-AZ&transform=per100k`` -> ViewState, with a notice per bad parameter."""
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    table = parsers(valid_geos, milestone_ids)
    values, notices = {}, []
    for key, raw in query.items():
        value = raw[-1]
        if key not in table:
            notices.append(f"Ignored unknown parameter '{key}'.")
            continue
        try:
            values[key] = table[key](value)
        except (ValueError, TypeError):
            default = getattr(DEFAULT, key)
            shown = ",".join(default) if isinstance(default, tuple) else default
            notices.append(f"Parameter '{key}={value[:40]}' is not valid; using the default ({shown}).")
    state = replace(DEFAULT, **values)
    if state.end and state.end < state.start:
        notices.append(f"End {state.end} is before start {state.start}; showing to the latest date instead.")
        state = replace(state, end="")
    return Parsed(state, notices)


def to_query(state: ViewState) -> str:
    """Only what differs from the default, so links stay short and defaults can evolve."""
    params = {}
    for f in fields(ViewState):
        value = getattr(state, f.name)
        if value == getattr(DEFAULT, f.name):
            continue
        if isinstance(value, tuple):
            value = ",".join(value)
        elif isinstance(value, bool):
            value = int(value)
        params[f.name] = value
    return "?" + urlencode(params) if params else ""


def is_date(v: str) -> bool:
    try:
        _date(v)
    except ValueError:
        return False
    return True


def check_params(query: dict, checks: dict, defaults: dict, skip: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    """A page's own URL parameters: each valid one replaces its default, each bad or unknown one
    adds a notice (the pages other than the timeline use this)."""
    out, notes = dict(defaults), []
    for key, value in query.items():
        if key in skip:
            continue
        value = str(value)
        if key in checks and checks[key](value):
            out[key] = value
        else:
            notes.append(f"Parameter '{key}={value[:40]}' is not valid; using the default ({defaults.get(key, 'none')}).")
    return out, notes
