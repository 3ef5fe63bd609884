"""The timeline's view state, all of it in the URL query string, generated from the panel registry.

Global parameters (``start``, ``transform``, ``lang``...) sit beside per-panel ones: each panel's
geography (``us_geo``; new panels ``<panel>.geo``) and facets (``deaths.drug``), whose older names
(``drugs``, ``seize``, ``mx_sources``...) stay accepted as aliases so printed links keep working.

``parse_query`` never raises and bounds everything it reads: a malformed, unknown, repeated or
oversized parameter falls back to its default (the last of repeated ones wins) and adds a notice
(a catalog key and its parameters) the page words in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlencode

import pandas as pd

from dashboard.i18n import LANGS
from dashboard.registry import PanelSpec, Registry
from etl import vocabulary

TRANSFORMS = ("counts", "per100k", "index", "yoy")
ROLLING = (0, 3, 6, 12)
MILESTONE_CATEGORIES = tuple(vocabulary.milestone_categories())
MAX_QUERY = 4096       # characters of query string read; the rest is ignored with a notice
MAX_VALUE = 256        # characters of one parameter value
MAX_PARAMS = 64        # parameters read
SHOWN_VALUE = 40       # characters of a bad value repeated back in a notice

Notice = tuple[str, dict]


@dataclass(frozen=True)
class PanelView:
    """One panel's selections: its geography and the chosen values of each facet."""

    geo: str
    facets: tuple[tuple[str, tuple[str, ...]], ...]
    compare: tuple[str, ...] = ()   # geographies drawn beside ``geo`` (panels that allow it)

    def selection(self) -> dict[str, tuple[str, ...]]:
        return dict(self.facets)

    def get(self, facet: str) -> tuple[str, ...]:
        return self.selection()[facet]


@dataclass(frozen=True)
class ViewState:
    panels: tuple[str, ...]                          # panels shown, in registry order
    views: tuple[tuple[str, PanelView], ...]         # every panel's selections, shown or not
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
    x0: str = ""                                     # drag-zoomed range (empty: the whole view)
    x1: str = ""

    def panel(self, key: str) -> PanelView:
        return dict(self.views)[key]

    def with_panel(self, key: str, geo: str | None = None, compare: tuple[str, ...] | None = None,
                   **facets: tuple[str, ...]) -> "ViewState":
        """A copy with one panel's geography, comparison or facets changed (tests, notebooks)."""
        old = self.panel(key)
        sel = {**old.selection(), **{k: tuple(v) for k, v in facets.items()}}
        new = PanelView(geo or old.geo, tuple(sorted(sel.items())), old.compare if compare is None else tuple(compare))
        return replace(self, views=tuple((k, new if k == key else v) for k, v in self.views))


GLOBALS = ("panels", "start", "end", "transform", "index_at", "rolling", "log", "cats", "hl", "changepoints",
           "lang", "x0", "x1")


@dataclass(frozen=True)
class Parsed:
    state: ViewState
    notices: list[Notice] = field(default_factory=list)


def default_state(reg: Registry) -> ViewState:
    views = tuple((p.key, PanelView(p.default_geo, tuple(sorted((f.key, f.default) for f in p.facets)),
                                    p.compare_geos)) for p in reg.ordered())
    return ViewState(panels=reg.default_panels(), views=views)


# --- parsers: each takes the raw string and returns the value or raises ValueError -----------


def _bool(v: str) -> bool:
    if v.lower() in {"1", "true", "yes", "on"}:
        return True
    if v.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError


def _date(v: str) -> str:
    # pd.to_datetime accepts "NaT" and "nan" without complaint: reject them here.
    ts = pd.to_datetime(v, format="%Y-%m-%d") if v else pd.NaT
    if pd.isna(ts) or not 1900 <= ts.year <= 2100:
        raise ValueError(f"not a date: {v!r}")
    return ts.date().isoformat()


def _optional_date(v: str) -> str:
    return _date(v) if v else ""


def _choice(options):
    def parse(v: str) -> str:
        if v not in options:
            raise ValueError
        return v
    return parse


def _multi(options, allow_empty: bool = False):
    """Comma-separated ids: de-duplicated, order kept, at most one of each known id."""
    def parse(v: str) -> tuple[str, ...]:
        items = tuple(dict.fromkeys(x for x in v.split(",") if x))
        if (not items and not allow_empty) or any(x not in options for x in items):
            raise ValueError
        return items
    return parse


def _facet_parser(facet):
    if facet.kind == "multi":
        return _multi(facet.ids)
    if facet.kind == "single":
        return lambda v: (_choice(facet.ids)(v),)
    return lambda v: (facet.values[1].id,) if _bool(v) else ()


def _global_parsers(reg: Registry, milestone_ids: set[str]) -> dict:
    return {
        "panels": _multi(tuple(reg.panels)),
        "start": _date,
        "end": _optional_date,
        "transform": _choice(TRANSFORMS),
        "index_at": lambda v: v if v in milestone_ids else _date(v),
        "rolling": lambda v: int(_choice({str(r) for r in ROLLING})(v)),
        "log": _bool,
        "cats": _multi(MILESTONE_CATEGORIES, allow_empty=True),   # empty hides every milestone
        "hl": lambda v: _choice(milestone_ids | {""})(v),
        "changepoints": _bool,
        "lang": _choice(LANGS),
        "x0": _optional_date,
        "x1": _optional_date,
    }


def param_table(reg: Registry, geos: dict[str, set[str]], milestone_ids: set[str]) -> dict:
    """URL parameter name -> (target, parser); target is a global name, ("geo", panel) or
    ("facet", panel, facet). Aliases map to the same target. Built once per registry, geographies
    and milestones (a callback parses every request)."""
    key = (id(reg), id(geos), id(milestone_ids))
    hit = _TABLES.get(key)
    if hit is not None and hit[0] is reg and hit[1] is geos and hit[2] is milestone_ids:
        return hit[3]
    table = _param_table(reg, geos, milestone_ids)
    if len(_TABLES) > 8:
        _TABLES.clear()
    _TABLES[key] = (reg, geos, milestone_ids, table)
    return table


_TABLES: dict = {}


def _param_table(reg: Registry, geos: dict[str, set[str]], milestone_ids: set[str]) -> dict:
    table = {name: (name, parse) for name, parse in _global_parsers(reg, milestone_ids).items()}
    for p in reg.ordered():
        table[p.geo_param] = (("geo", p.key), _choice(geos.get(p.key, {p.default_geo})))
        if p.comparable:
            table[compare_param(p)] = (("compare", p.key),
                                       _multi(tuple(geos.get(p.key, {p.default_geo})), allow_empty=True))
        for f in p.facets:
            target = (("facet", p.key, f.key), _facet_parser(f))
            for name in (p.facet_param(f), *f.aliases):
                table[name] = target
    return table


def parse_query(search: str | None, reg: Registry, geos: dict[str, set[str]], milestone_ids: set[str]) -> Parsed:
    """``?us_geo=US-AZ&transform=per100k`` -> ViewState, with a notice per bad parameter."""
    notices: list[Notice] = []
    raw = (search or "").lstrip("?")
    if len(raw) > MAX_QUERY:
        notices.append(("notice.query_too_long", {"n": MAX_QUERY}))
        raw = raw[:MAX_QUERY]
    pairs = parse_qsl(raw, keep_blank_values=True)
    if len(pairs) > MAX_PARAMS:
        notices.append(("notice.too_many_params", {"n": MAX_PARAMS}))
        pairs = pairs[-MAX_PARAMS:]
    query = dict(pairs)  # a repeated parameter: the last one wins
    return parse_values(query, reg, geos, milestone_ids, notices)


def parse_values(query: dict, reg: Registry, geos: dict[str, set[str]], milestone_ids: set[str],
                 notices: list[Notice] | None = None) -> Parsed:
    """The same validation for a dict of parameter -> value (URL or controls)."""
    notices = list(notices or [])
    table = param_table(reg, geos, milestone_ids)
    default = default_state(reg)
    values: dict = {}
    panel_geo: dict[str, str] = {}
    panel_compare: dict[str, tuple[str, ...]] = {}
    panel_facets: dict[tuple[str, str], tuple[str, ...]] = {}
    for key, value in query.items():
        key, value = str(key)[:SHOWN_VALUE * 2], value if isinstance(value, str) else _coerce(value)
        if key not in table:
            notices.append(("notice.unknown_param", {"param": key[:SHOWN_VALUE]}))
            continue
        target, parse = table[key]
        try:
            if value is None or len(value) > MAX_VALUE:
                raise ValueError
            parsed = parse(value)
        except (ValueError, TypeError):
            notices.append(("notice.bad_param", {"param": key, "value": str(value)[:SHOWN_VALUE],
                                                 "default": _shown_default(default, target)}))
            continue
        if isinstance(target, str):
            values[target] = parsed
        elif target[0] == "geo":
            panel_geo[target[1]] = parsed
        elif target[0] == "compare":
            panel_compare[target[1]] = parsed
        else:
            panel_facets[(target[1], target[2])] = parsed
    views = []
    for key, view in default.views:
        sel = view.selection()
        for (pk, fk), v in panel_facets.items():
            if pk == key:
                sel[fk] = v
        views.append((key, PanelView(panel_geo.get(key, view.geo), tuple(sorted(sel.items())),
                                     panel_compare.get(key, view.compare))))
    if "panels" in values:
        order = [p.key for p in reg.ordered()]
        values["panels"] = tuple(sorted(values["panels"], key=order.index))
    state = replace(default, views=tuple(views), **values)
    if state.end and state.end < state.start:
        notices.append(("notice.end_before_start", {"end": state.end, "start": state.start}))
        state = replace(state, end="")
    if state.x0 and state.x1 and state.x1 < state.x0:
        state = replace(state, x0="", x1="")
    return Parsed(state, notices)


def _coerce(value) -> str | None:
    """A control value from a callback payload -> the URL's string form; anything else -> None
    (rejected with a notice)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, list):
        if len(value) > MAX_PARAMS or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in value):
            return None
        return ",".join(str(x) for x in value)
    return None


def _shown_default(default: ViewState, target) -> str:
    if isinstance(target, str):
        v = getattr(default, target)
    elif target[0] == "geo":
        v = default.panel(target[1]).geo
    elif target[0] == "compare":
        v = default.panel(target[1]).compare
    else:
        v = default.panel(target[1]).get(target[2])
    if isinstance(v, tuple):
        return ",".join(v) or "—"
    return str(v) if v != "" else "—"


def to_query(state: ViewState, reg: Registry) -> str:
    """Only what differs from the default, under the canonical names, so links stay short and
    defaults can evolve."""
    default = default_state(reg)
    params = {}
    for name in GLOBALS:
        value = getattr(state, name)
        if value != getattr(default, name):
            params[name] = _url_value(value)
    for p in reg.ordered():
        view, base = state.panel(p.key), default.panel(p.key)
        if view.geo != base.geo:
            params[p.geo_param] = view.geo
        if view.compare != base.compare:
            params[compare_param(p)] = ",".join(view.compare)
        for f in p.facets:
            if view.get(f.key) != base.get(f.key):
                params[p.facet_param(f)] = ("1" if view.get(f.key) else "0") if f.kind == "toggle" \
                    else ",".join(view.get(f.key))
    return "?" + urlencode(params, safe=",") if params else ""


def compare_param(p: PanelSpec) -> str:
    return f"{p.key}.compare"


def _url_value(value) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def is_date(v: str) -> bool:
    try:
        _date(v)
    except ValueError:
        return False
    return True


def check_params(query: dict, checks: dict, defaults: dict, skip: tuple[str, ...] = ()) -> tuple[dict, list[Notice]]:
    """A page's own URL parameters: each valid one replaces its default, each bad or unknown one
    adds a notice (the pages other than the timeline use this). Values are length-capped; a
    repeated parameter arrives as a list from Dash and its last value wins."""
    out, notes = dict(defaults), []
    for key, value in list(query.items())[:MAX_PARAMS]:
        if key in skip:
            continue
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else ""
        value = str(value)
        if key in checks and len(value) <= MAX_VALUE and checks[key](value):
            out[key] = value
        else:
            notes.append(("notice.bad_param", {"param": str(key)[:SHOWN_VALUE], "value": value[:SHOWN_VALUE],
                                               "default": defaults.get(key, "—") or "—"}))
    return out, notes


def panel_specs(state: ViewState, reg: Registry) -> list[PanelSpec]:
    """The shown panels' specs, in order."""
    return [reg.panels[k] for k in state.panels if k in reg.panels]
