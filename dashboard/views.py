"""From a ViewState to what each timeline panel shows: selected, transformed series.

This is the "select data" half of every callback; figures.py is the "draw" half.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from dashboard import figures, store, transforms
from dashboard.figures import PALETTE, Line
from dashboard.state import ViewState

DEATH_LABELS = {
    "all_drugs": "All drug overdoses", "synthetic_opioids": "Synthetic opioids (fentanyl, T40.4)",
    "heroin": "Heroin (T40.1)", "cocaine": "Cocaine (T40.5)", "psychostimulants": "Psychostimulants (T43.6)",
    "all_opioids": "All opioids", "natural_semisynthetic_opioids": "Natural & semi-synthetic opioids (T40.2)",
    "methadone": "Methadone (T40.3)",
}
SEIZURE_LABELS = {"fentanyl": "Fentanyl", "methamphetamine": "Methamphetamine", "cocaine": "Cocaine",
                  "heroin": "Heroin", "marijuana": "Marijuana", "other": "Other drugs"}
MX_SERIES = {"sesnsp": "sesnsp_homicide.homicidio_doloso", "inegi": "inegi_homicide.homicides"}
MX_LABELS = {"sesnsp": "Homicide victims (SESNSP, prosecutors' files)",
             "inegi": "Homicide deaths (INEGI, death certificates)"}
SOURCE_SHORT = {
    "cdc_vsrr_overdose": "CDC/NCHS VSRR", "cdc_nchs_final_overdose": "CDC/NCHS NVSS", "sesnsp_homicide": "SESNSP",
    "inegi_homicide": "INEGI microdata (Gargiulo et al.)", "cbp_seizures": "U.S. CBP", "population": "Census/CONAPO",
}
TRANSFORM_NAMES = {"counts": "counts", "per100k": "per 100k", "index": "index", "yoy": "year-over-year %"}


@dataclass(frozen=True)
class Shown:
    """One displayed series and what was done to it (for the table, download and citation)."""

    series_id: str
    name: str
    geo: str
    frame: pd.DataFrame  # date, value, raw, flag
    unit_label: str
    frequency: str
    source_id: str
    transform: str


@dataclass
class Panel:
    key: str
    title: str
    default_label: str
    lines: list[Line] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    y_label: str = ""
    labels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.y_label = self.y_label or self.default_label


def index_date(state: ViewState) -> pd.Timestamp:
    """The month an index is based on: a milestone's month, or the given date's month."""
    return _index_month(state.index_at, store.milestones_token())


@lru_cache(maxsize=64)
def _index_month(index_at: str, _milestones_token: int) -> pd.Timestamp:
    ms = store.milestones()
    hit = ms[ms["id"] == index_at]
    when = pd.Timestamp(hit["date"].iloc[0]) if len(hit) else pd.Timestamp(index_at)
    return when.to_period("M").to_timestamp()


def _add_series(panel: Panel, state: ViewState, series_id: str, geo: str, name: str, color: str,
                dash: str = "solid", allow_rate: bool = True) -> None:
    meta = store.series_meta()[series_id]
    rows = store.series(series_id, geo)
    if rows.empty:
        panel.notes.append(f"No data for {name} in {store.geo_name(geo)}.")
        return
    transform = state.transform if (allow_rate or state.transform != "per100k") else "counts"
    if transform != state.transform:
        panel.notes.append(f"Per 100k is not meaningful for {name}: counts shown.")
    result = transforms.apply(
        rows, transform=transform, frequency=meta["frequency"], unit=meta["unit"],
        population=store.population(geo) if transform == "per100k" else None,
        index_at=index_date(state) if transform == "index" else None, rolling=state.rolling,
    )
    if result.note and result.note not in panel.notes:
        panel.notes.append(result.note)
    frame = result.frame
    frame = frame[frame["date"] >= pd.Timestamp(state.start)]
    if state.end:
        frame = frame[frame["date"] <= pd.Timestamp(state.end)]
    panel.labels.append(result.label)
    panel.y_label = " / ".join(dict.fromkeys(panel.labels))
    prefix = "12 months ending " if meta["frequency"] == "monthly_12m_ending" else ""
    panel.lines.append(Line(name, frame, color, dash, hover_unit=result.label, period_prefix=prefix))
    panel.shown.append(Shown(
        series_id, name, geo, frame, result.label, meta["frequency"], meta["source_id"],
        TRANSFORM_NAMES[transform] + (f", {state.rolling}-month mean" if state.rolling else ""),
    ))
    if meta["source_id"] not in panel.sources:
        panel.sources.append(meta["source_id"])


def deaths_panel(state: ViewState) -> Panel:
    panel = Panel("deaths", f"US drug-overdose deaths — {store.geo_name(state.us_geo)}", "deaths")
    for i, drug in enumerate(state.drugs):
        sid = f"cdc_vsrr_overdose.{drug}"
        if sid not in store.series_meta():
            continue
        _add_series(panel, state, sid, state.us_geo, DEATH_LABELS[drug], PALETTE[i % len(PALETTE)])
        if state.predicted and f"{sid}_predicted" in store.series_meta():
            _add_series(panel, state, f"{sid}_predicted", state.us_geo, f"{DEATH_LABELS[drug]}, predicted",
                        PALETTE[i % len(PALETTE)], dash="dot")
    panel.notes.insert(0, "CDC provisional counts: each point is the sum of the 12 months ending that month, "
                          "not a monthly count.")
    return panel


def homicides_panel(state: ViewState) -> Panel:
    panel = Panel("homicides", f"Mexico homicides — {store.geo_name(state.mx_geo)}", "victims")
    for i, src in enumerate(state.mx_sources):
        _add_series(panel, state, MX_SERIES[src], state.mx_geo, MX_LABELS[src], PALETTE[(i + 1) % len(PALETTE)])
    if state.firearm and "sesnsp" in state.mx_sources:
        _add_series(panel, state, "sesnsp_homicide.homicidio_doloso_firearm", state.mx_geo,
                    "…of which with a firearm (SESNSP)", PALETTE[3])
        share = firearm_share(state)
        if share is not None:
            panel.notes.append(f"Firearms were used in {share:.0%} of SESNSP homicide victims in "
                               f"{store.geo_name(state.mx_geo)} over the dates shown.")
    if len(state.mx_sources) == 2:
        panel.notes.append("SESNSP counts victims in prosecutors' case files; INEGI counts death certificates. "
                           "They measure different things and differ by 1,000–2,000 a year.")
    return panel


def firearm_share(state: ViewState) -> float | None:
    """Firearm victims / all victims (SESNSP counts) over the view's dates."""
    def total(series_id: str) -> float:
        rows = store.series(series_id, state.mx_geo)
        rows = rows[rows["date"] >= pd.Timestamp(state.start)]
        if state.end:
            rows = rows[rows["date"] <= pd.Timestamp(state.end)]
        return float(rows["value"].sum())

    victims = total("sesnsp_homicide.homicidio_doloso")
    return total("sesnsp_homicide.homicidio_doloso_firearm") / victims if victims else None


def seizures_panel(state: ViewState) -> Panel:
    where = "nationwide" if state.cbp_geo == "US" else store.geo_name(state.cbp_geo)
    comp = {"all": "", "ofo": ", ports of entry (OFO)", "usbp": ", between ports (Border Patrol)"}[state.component]
    panel = Panel("seizures", f"US border drug seizures — {where}{comp}", state.measure)
    suffix = "" if state.component == "all" else f"_{state.component}"
    for i, drug in enumerate(state.seize):
        sid = f"cbp_seizures.{drug}_{state.measure}{suffix}"
        if sid in store.series_meta():
            _add_series(panel, state, sid, state.cbp_geo, SEIZURE_LABELS[drug], PALETTE[(i + 2) % len(PALETTE)],
                        allow_rate=False)
    if any("fytd" in set(line.frame["flag"].dropna()) for line in panel.lines):
        panel.notes.append("The latest fiscal year is incomplete (fiscal year to date): dashed.")
    return panel


def build_panels(state: ViewState) -> list[Panel]:
    return [deaths_panel(state), homicides_panel(state), seizures_panel(state)]


def x_range(state: ViewState, panels: list[Panel]) -> tuple[str, str]:
    ends = [s.frame["date"].max() for p in panels for s in p.shown if len(s.frame)]
    latest = max(ends).date().isoformat() if ends else pd.Timestamp.today().date().isoformat()
    return state.start, state.end or latest


def displayed_data(panels: list[Panel]) -> pd.DataFrame:
    """Exactly what the charts show, one row per point, with provenance columns."""
    frames = []
    for p in panels:
        for s in p.shown:
            prov = store.provenance(s.source_id)
            frames.append(pd.DataFrame({
                "panel": p.key, "series_id": s.series_id, "series": s.name, "geo": s.geo,
                "geo_name": store.geo_name(s.geo), "date": s.frame["date"].dt.strftime("%Y-%m-%d"),
                "value": s.frame["value"], "raw_value": s.frame["raw"], "unit": s.unit_label,
                "frequency": s.frequency, "flag": s.frame["flag"], "source_id": s.source_id,
                "publisher": prov["publisher"], "snapshot": prov["snapshot"],
                "snapshot_md5": ";".join(f"{k}={v}" for k, v in sorted(prov["snapshot_md5s"].items())),
                "transform": s.transform,
            }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def change_table(panels: list[Panel]) -> pd.DataFrame:
    """First and last displayed value of each series, and the change between them."""
    rows = []
    for p in panels:
        for s in p.shown:
            values = s.frame["value"].to_numpy(dtype=float)
            present = np.flatnonzero(~np.isnan(values))
            if not len(present):
                continue
            i, j = present[0], present[-1]
            first, last = values[i], values[j]
            dates = s.frame["date"].to_numpy()
            rows.append({
                "series": s.name, "geo_name": store.geo_name(s.geo), "unit": s.unit_label,
                "first_date": str(dates[i])[:10], "first": first, "last_date": str(dates[j])[:10], "last": last,
                "change": last - first, "change_pct": (last - first) / first * 100 if first else None,
            })
    return pd.DataFrame(rows, columns=["series", "geo_name", "unit", "first_date", "first", "last_date", "last",
                                       "change", "change_pct"])


def export(state: ViewState, fmt: str) -> tuple[bytes, str]:
    """The displayed data as CSV or Parquet bytes, and a file name naming view and data version."""
    panels = build_panels(state)
    df = displayed_data(panels)
    name = download_name(state, store.data_version([sid for p in panels for sid in p.sources]))
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue(), f"{name}.parquet"
    return df.to_csv(index=False).encode("utf-8"), f"{name}.csv"


def download_name(state: ViewState, version: str) -> str:
    """Names the view and the data version: xborder_US_MX_CBP-SWB_counts_<version>."""
    parts = ["xborder", state.us_geo, state.mx_geo, state.cbp_geo, state.transform]
    if state.rolling:
        parts.append(f"roll{state.rolling}")
    return "_".join(parts + [version])


def changepoints_for(panel: Panel, milestones: pd.DataFrame) -> tuple[list, list] | None:
    """Change points (PELT) of the panel's first series, each labelled with its nearest milestone."""
    if not panel.lines:
        return None
    from dashboard.analysis.changepoints import detect_changepoints

    line = panel.lines[0]
    if line.period_prefix:  # overlapping 12-month-ending sums: see dashboard.analysis.guards
        panel.notes.append("Change points are not computed on 12-month-ending sums: consecutive values overlap.")
        return None
    y = line.frame.dropna(subset=["value"]).set_index("date")["value"]
    if len(y) < 24:
        panel.notes.append("Too few points to look for change points.")
        return None
    result = detect_changepoints(y, frequency=panel_frequency(panel),
                                 milestones=dict(zip(milestones["id"], milestones["date"])))
    labels = []
    for b in result.breaks:
        near = (f"{b.months_to_milestone:+d} months from milestone {b.nearest_milestone_id}"
                if b.nearest_milestone_id else "no milestone nearby")
        labels.append(f"{line.name}: {near}")
    return [b.date for b in result.breaks], labels


def panel_frequency(panel: Panel) -> str:
    freqs = {s.frequency for s in panel.shown} or {"monthly"}
    return "annual" if freqs == {"annual"} else "monthly"


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"


def text_summary(panel: Panel) -> str:
    """What the chart shows, in one sentence per series, for screen readers and quick reading."""
    parts = []
    for s in panel.shown:
        values = s.frame["value"].to_numpy(dtype=float)
        present = np.flatnonzero(~np.isnan(values))
        if not len(present):
            continue
        dates = pd.DatetimeIndex(s.frame["date"])
        i, j, k = present[0], present[-1], present[np.argmax(values[present])]
        prefix = "12 months ending " if s.frequency == "monthly_12m_ending" else ""
        parts.append(
            f"{s.name}: {_num(values[i])} ({prefix}{dates[i]:%b %Y}) to {_num(values[j])} "
            f"({prefix}{dates[j]:%b %Y}); highest {_num(values[k])} in {dates[k]:%b %Y}; {s.unit_label}."
        )
    return " ".join(parts)


def panel_figure(panel: Panel, state: ViewState, x_range: tuple[str, str]) -> tuple[dict, list[str]]:
    """The panel's figure spec and the notes to print under it."""
    ms = store.milestones()
    ms = ms[ms["category"].isin(state.cats)]
    cps = changepoints_for(panel, ms) if state.changepoints else None
    notes = list(panel.notes)
    if state.log:
        hidden = sum(transforms.log_hidden(line.frame["value"]) for line in panel.lines)
        notes.append(f"Log scale: {hidden} zero or negative point(s) cannot be drawn and are hidden." if hidden
                     else "Log scale: no points hidden.")
    spec = figures.timeline_spec(
        panel.lines, ms, title=panel.title, y_label=panel.y_label, x_range=x_range, log=state.log,
        highlight=state.hl, lang=state.lang, changepoints=cps,
        message="" if panel.lines else "No data for this selection",
        source_note="Source: " + "; ".join(
            f"{SOURCE_SHORT.get(sid, sid)}, snapshot {store.provenance(sid)['snapshot']}" for sid in panel.sources),
    )
    return spec, notes
