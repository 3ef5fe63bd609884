"""What the dashboard shows, read from the sources' metadata: panels and the series on them.

Each source's TOML may declare timeline panels (``[[panels]]``) and say, per series, which panel
shows it and how (``[series.display]``). This module checks those tables against each other and
the vocabulary, and turns them into ``PanelSpec`` / ``SeriesSpec``: pages loop over them and never
name a source or a series. A bad entry raises ``RegistryError`` naming the file, the entry and the
field. ``python -m dashboard list`` prints the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from etl import vocabulary
from etl.paths import REPO_ROOT
from etl.metadata import SeriesMeta, SourceMeta

KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
FACET_KINDS = ("multi", "single", "toggle")
DASHES = ("solid", "dot", "dash", "dashdot")
PANEL_FIELDS = {"key", "name", "name_es", "title", "title_es", "description", "description_es", "geo_kind", "geo_param",
                "default_geo", "order", "default_on", "notes", "breaks", "facets", "geo_labels", "compare_geos"}
FACET_FIELDS = {"key", "label", "label_es", "kind", "default", "values", "aliases"}
VALUE_FIELDS = {"id", "label", "label_es", "dash", "title_suffix", "title_suffix_es"}
DISPLAY_FIELDS = {"panel", "facets", "color", "label", "label_es", "per_100k", "dash", "order"}
# Series colours when the metadata gives none: distinct, readable on white, colour-blind aware.
FALLBACK_COLORS = ("#1f4e79", "#c0392b", "#16a085", "#8e44ad", "#d35400", "#2c3e50", "#7f8c8d", "#b7950b")


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class FacetValue:
    id: str
    label: str
    label_es: str
    dash: str = ""
    title_suffix: str = ""
    title_suffix_es: str = ""


@dataclass(frozen=True)
class FacetSpec:
    key: str
    label: str
    label_es: str
    kind: str                       # multi | single | toggle
    values: tuple[FacetValue, ...]
    default: tuple[str, ...]        # selected value ids (a toggle: () off, (on_value,) on)
    aliases: tuple[str, ...] = ()   # older URL parameter names

    def value(self, vid: str) -> FacetValue:
        return next(v for v in self.values if v.id == vid)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(v.id for v in self.values)

    def shown(self, selected: tuple[str, ...]) -> set[str]:
        """Values whose series are drawn: a toggle always draws its first value."""
        return {self.values[0].id, *selected} if self.kind == "toggle" else set(selected)


@dataclass(frozen=True)
class SeriesSpec:
    id: str
    source_id: str
    panel: str
    facets: tuple[tuple[str, str], ...]
    label: str
    label_es: str
    color: str
    per_100k: bool
    dash: str
    unit: str
    frequency: str
    order: int = 0

    def facet(self, key: str) -> str | None:
        return dict(self.facets).get(key)


@dataclass(frozen=True)
class NoteSpec:
    text: str
    text_es: str
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class BreakSpec:
    date: str
    label: str
    label_es: str


@dataclass(frozen=True)
class PanelSpec:
    key: str
    title: str
    title_es: str
    geo_kind: str
    geo_param: str
    default_geo: str
    order: int
    default_on: bool
    facets: tuple[FacetSpec, ...]
    description: str = ""
    description_es: str = ""
    notes: tuple[NoteSpec, ...] = ()
    breaks: tuple[BreakSpec, ...] = ()
    geo_labels: tuple[tuple[str, str, str], ...] = ()   # (geo, label, label_es) overriding geo names
    series: tuple[SeriesSpec, ...] = field(default=(), compare=False)
    declared_in: str = ""
    name: str = ""          # short name for the panel picker (default: the title before " — ")
    name_es: str = ""
    # Geographies drawn beside the chosen one by default (e.g. region and world): the panel then
    # offers a "compare with" control; () means no comparison.
    compare_geos: tuple[str, ...] = ()
    comparable: bool = False

    def facet(self, key: str) -> FacetSpec:
        return next(f for f in self.facets if f.key == key)

    def facet_param(self, facet: FacetSpec) -> str:
        return f"{self.key}.{facet.key}"

    @property
    def primary(self) -> FacetSpec | None:
        """The facet whose values name the lines (the first multi facet)."""
        return next((f for f in self.facets if f.kind == "multi"), None)

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.unit for s in self.series))

    def select(self, selection: dict[str, tuple[str, ...]]) -> list[SeriesSpec]:
        """The series a selection of facet values draws, in the order the reader picked them."""
        shown = {f.key: f.shown(selection.get(f.key, f.default)) for f in self.facets}
        hits = [s for s in self.series
                if all(s.facet(k) is None or s.facet(k) in v for k, v in shown.items())]
        primary = self.primary
        picked = list(selection.get(primary.key, primary.default)) if primary else []

        def rank(s: SeriesSpec):
            first = picked.index(s.facet(primary.key)) if primary and s.facet(primary.key) in picked else 0
            rest = [f.ids.index(s.facet(f.key)) if s.facet(f.key) in f.ids else 0 for f in self.facets]
            return (first, rest, s.order)
        return sorted(hits, key=rank)

    def active_notes(self, selection: dict[str, tuple[str, ...]]) -> list[NoteSpec]:
        out = []
        for note in self.notes:
            if all(set(vals) <= self.facet(k).shown(selection.get(k, self.facet(k).default)) for k, vals in note.when):
                out.append(note)
        return out


@dataclass(frozen=True)
class Registry:
    panels: dict[str, PanelSpec]
    series: dict[str, SeriesSpec]

    def ordered(self) -> list[PanelSpec]:
        return sorted(self.panels.values(), key=lambda p: (p.order, p.key))

    def default_panels(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.ordered() if p.default_on)


# --- loading and checking ---------------------------------------------------------------------


def _need(table: dict, name: str, where: str, kind=str):
    value = table.get(name)
    if value is None or (kind is str and not str(value).strip()):
        raise RegistryError(f"{where}: missing field '{name}'")
    if not isinstance(value, kind):
        raise RegistryError(f"{where}: field '{name}' must be a {kind.__name__}, got {value!r}")
    return value


def _unknown(table: dict, allowed: set[str], where: str) -> None:
    extra = set(table) - allowed
    if extra:
        raise RegistryError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")


def _key(raw: dict, where: str, label: str) -> tuple[str, str]:
    """An entry's key, checked, and the name errors give the entry from then on."""
    key = _need(raw, "key", where)
    named = label.format(key=key)
    if not KEY_RE.match(key):
        raise RegistryError(f"{named}: field 'key' must match {KEY_RE.pattern}")
    return key, named


def _facet(raw: dict, where: str) -> FacetSpec:
    _unknown(raw, FACET_FIELDS, where)
    key, where = _key(raw, where, f"{where} facet '{{key}}'")
    kind = _need(raw, "kind", where)
    if kind not in FACET_KINDS:
        raise RegistryError(f"{where}: field 'kind' {kind!r} not one of {FACET_KINDS}")
    values = []
    for i, v in enumerate(_need(raw, "values", where, list), start=1):
        vw = f"{where} value #{i}"
        if not isinstance(v, dict):
            raise RegistryError(f"{vw}: must be a table")
        _unknown(v, VALUE_FIELDS, vw)
        if v.get("dash") and v["dash"] not in DASHES:
            raise RegistryError(f"{vw}: field 'dash' {v['dash']!r} not one of {DASHES}")
        values.append(FacetValue(id=_need(v, "id", vw), label=_need(v, "label", vw), label_es=_need(v, "label_es", vw),
                                 dash=v.get("dash", ""), title_suffix=v.get("title_suffix", ""),
                                 title_suffix_es=v.get("title_suffix_es", "")))
    ids = [v.id for v in values]
    if len(set(ids)) != len(ids):
        raise RegistryError(f"{where}: field 'values' repeats an id")
    if kind == "toggle" and len(values) != 2:
        raise RegistryError(f"{where}: a toggle needs exactly two values (always shown, added when on)")
    default = raw.get("default", [] if kind == "multi" else (False if kind == "toggle" else ids[0]))
    if kind == "multi":
        if not isinstance(default, list) or any(d not in ids for d in default):
            raise RegistryError(f"{where}: field 'default' must be a list of value ids from {ids}")
        chosen = tuple(default)
    elif kind == "single":
        if default not in ids:
            raise RegistryError(f"{where}: field 'default' {default!r} not one of {ids}")
        chosen = (default,)
    else:
        if not isinstance(default, bool):
            raise RegistryError(f"{where}: field 'default' of a toggle must be true or false")
        chosen = (ids[1],) if default else ()
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise RegistryError(f"{where}: field 'aliases' must be a list of URL parameter names")
    return FacetSpec(key, _need(raw, "label", where), _need(raw, "label_es", where), kind, tuple(values), chosen,
                     tuple(aliases))


def _panel(raw: dict, meta: SourceMeta, i: int) -> PanelSpec:
    where = f"{_file(meta)}: [[panels]] #{i}"
    _unknown(raw, PANEL_FIELDS, where)
    key, where = _key(raw, where, f"{_file(meta)}: panel '{{key}}'")
    geo_kind = _need(raw, "geo_kind", where)
    if geo_kind not in vocabulary.geo_kinds():
        raise RegistryError(f"{where}: field 'geo_kind' {geo_kind!r} not one of {sorted(vocabulary.geo_kinds())}")
    facets = tuple(_facet(f, where) for f in raw.get("facets", []))
    if len({f.key for f in facets}) != len(facets):
        raise RegistryError(f"{where}: field 'facets' repeats a key")
    notes = []
    for j, n in enumerate(raw.get("notes", []), start=1):
        nw = f"{where} note #{j}"
        when = n.get("when", {})
        for fk, vals in when.items():
            if fk not in {f.key for f in facets}:
                raise RegistryError(f"{nw}: field 'when' names unknown facet {fk!r}")
        notes.append(NoteSpec(_need(n, "text", nw), _need(n, "text_es", nw),
                              tuple((k, tuple(v if isinstance(v, list) else [v])) for k, v in when.items())))
    breaks = []
    for j, b in enumerate(raw.get("breaks", []), start=1):
        bw = f"{where} break #{j}"
        when = str(_need(b, "date", bw, object))
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", when):
            raise RegistryError(f"{bw}: field 'date' must be YYYY-MM-DD, got {when!r}")
        breaks.append(BreakSpec(when, _need(b, "label", bw), _need(b, "label_es", bw)))
    labels = raw.get("geo_labels", {})
    geo_labels = tuple((g, _need(v, "label", f"{where} geo_labels.{g}"), _need(v, "label_es", f"{where} geo_labels.{g}"))
                       for g, v in labels.items())
    return PanelSpec(
        key=key, title=_need(raw, "title", where), title_es=_need(raw, "title_es", where), geo_kind=geo_kind,
        geo_param=raw.get("geo_param", f"{key}.geo"), default_geo=_need(raw, "default_geo", where),
        order=int(raw.get("order", 100)), default_on=bool(raw.get("default_on", False)), facets=facets,
        description=raw.get("description", ""), description_es=raw.get("description_es", ""),
        notes=tuple(notes), breaks=tuple(breaks), geo_labels=geo_labels, declared_in=_file(meta),
        compare_geos=tuple(raw.get("compare_geos", []) or ()), comparable="compare_geos" in raw,
        name=raw.get("name") or raw["title"].split(" — ")[0].replace("{geo}", "").strip(),
        name_es=raw.get("name_es") or raw["title_es"].split(" — ")[0].replace("{geo}", "").strip(),
    )


def _file(meta: SourceMeta) -> str:
    """The TOML's path as the reader knows it: relative to the repository when inside it."""
    path = Path(meta.path or f"{meta.id}.toml")
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _series(s: SeriesMeta, meta: SourceMeta, panel: PanelSpec, n_in_panel: int) -> SeriesSpec:
    d = s.display
    where = f"{_file(meta)}: series '{s.id}' display"
    _unknown(d, DISPLAY_FIELDS, where)
    facets = d.get("facets", {})
    if not isinstance(facets, dict):
        raise RegistryError(f"{where}: field 'facets' must be a table")
    for fk, fv in facets.items():
        if fk not in {f.key for f in panel.facets}:
            raise RegistryError(f"{where}: field 'facets' names {fk!r}, not a facet of panel '{panel.key}'")
        if fv not in panel.facet(fk).ids:
            raise RegistryError(f"{where}: facet '{fk}' value {fv!r} not one of {list(panel.facet(fk).ids)}")
    color = d.get("color", FALLBACK_COLORS[n_in_panel % len(FALLBACK_COLORS)])
    if not COLOR_RE.match(color):
        raise RegistryError(f"{where}: field 'color' {color!r} must be #rrggbb")
    unit = vocabulary.units()[s.unit]
    per_100k = d.get("per_100k", unit.count and unit.per_capita)
    if per_100k and not unit.count:
        raise RegistryError(f"{where}: field 'per_100k' is true but unit {s.unit!r} is not a count")
    label, label_es = _default_label(panel, facets, s)
    dash = d.get("dash") or next((panel.facet(k).value(v).dash for k, v in facets.items()
                                  if panel.facet(k).value(v).dash), "") or "solid"
    if dash not in DASHES:
        raise RegistryError(f"{where}: field 'dash' {dash!r} not one of {DASHES}")
    return SeriesSpec(
        id=s.id, source_id=meta.id, panel=panel.key, facets=tuple(sorted(facets.items())),
        label=d.get("label", label),
        label_es=d.get("label_es") or (label_es if "label" not in d else s.title_es or d["label"]),
        color=color, per_100k=bool(per_100k), dash=dash, unit=s.unit, frequency=s.frequency,
        order=int(d.get("order", 0)),
    )


def _default_label(panel: PanelSpec, facets: dict, s: SeriesMeta) -> tuple[str, str]:
    """The primary facet value's label, plus ", <value>" for a toggle that is on."""
    primary = panel.primary
    if not primary or primary.key not in facets:
        return s.title, s.title_es or s.title
    v = primary.value(facets[primary.key])
    en, es = v.label, v.label_es
    for f in panel.facets:
        if f.kind == "toggle" and facets.get(f.key) == f.values[1].id:
            en, es = f"{en}, {f.values[1].label}", f"{es}, {f.values[1].label_es}"
    return en, es


def build(sources: dict[str, SourceMeta]) -> Registry:
    panels: dict[str, PanelSpec] = {}
    for meta in sources.values():
        for i, raw in enumerate(meta.panels, start=1):
            p = _panel(raw, meta, i)
            if p.key in panels:
                raise RegistryError(f"{_file(meta)}: panel '{p.key}' is already declared in {panels[p.key].declared_in}")
            panels[p.key] = p
    params: dict[str, str] = {}
    for p in panels.values():
        for name in [p.geo_param, *[p.facet_param(f) for f in p.facets], *[a for f in p.facets for a in f.aliases]]:
            if name in params:
                raise RegistryError(f"{p.declared_in}: panel '{p.key}': URL parameter {name!r} is also used by "
                                    f"panel '{params[name]}'")
            params[name] = p.key
    members: dict[str, list[SeriesSpec]] = {k: [] for k in panels}
    for meta in sources.values():
        for s in meta.series:
            if not s.display:
                continue
            key = s.display.get("panel")
            if key not in panels:
                raise RegistryError(f"{_file(meta)}: series '{s.id}' display: field 'panel' {key!r} is not a "
                                    f"declared panel ({', '.join(sorted(panels)) or 'none'})")
            members[key].append(_series(s, meta, panels[key], len(members[key])))
    out = {}
    for key, p in panels.items():
        if not members[key]:
            raise RegistryError(f"{p.declared_in}: panel '{key}' has no series (no series display names it)")
        out[key] = PanelSpec(**{**p.__dict__, "series": tuple(members[key])})
    series = {s.id: s for p in out.values() for s in p.series}
    return Registry(out, series)


@lru_cache(maxsize=1)
def registry() -> Registry:
    from etl.registry import all_sources

    return build({sid: src.meta for sid, src in all_sources().items()})


def panels() -> list[PanelSpec]:
    return registry().ordered()


def panel(key: str) -> PanelSpec:
    return registry().panels[key]


def series_specs() -> dict[str, SeriesSpec]:
    return registry().series


def label(obj, lang: str) -> str:
    """A spec's label (or title) in the reader's language."""
    for name in ("label", "title", "text"):
        if hasattr(obj, name):
            es = getattr(obj, f"{name}_es", "")
            return es if lang == "es" and es else getattr(obj, name)
    raise TypeError(f"{type(obj).__name__} has no label")
