"""The Revisions page's work, pure: how CDC's provisional counts changed from one data vintage
(raw snapshot) to the next, and what was known on a given date."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

import etl
from dashboard import store
from dashboard.figures import FONT, HIGHLIGHT_COLOR
from etl.snapshot import list_snapshots
from etl.vintages import revisions, snapshots_as_of, table_for

SOURCE = "cdc_vsrr_overdose"
VINTAGE_STYLES = [("#1f4e79", "solid", 2.5), ("#5d8bbd", "dash", 2), ("#9bb4cf", "dot", 2), ("#c3d1e0", "dot", 1.5)]  # newest first


def series_keys() -> dict[str, str]:
    """Short key -> title of every reported (not predicted) CDC VSRR series."""
    meta = etl.series(SOURCE)
    meta = meta[~meta["series_id"].str.endswith("_predicted")]
    return {sid.split(".", 1)[1]: title.replace(" (reported)", "") for sid, title in zip(meta["series_id"], meta["title"])}


def vintages() -> list[str]:
    """Snapshot dates of the source, oldest first: each is a vintage."""
    return [s.date for s in list_snapshots(SOURCE)]


def vintage_counts(geo: str) -> dict[str, int]:
    """Series key -> number of vintages with at least one value for this geography."""
    counts: dict[str, int] = {}
    for snap in list_snapshots(SOURCE):
        df = table_for(snap)
        sel = df[(df["geo"] == geo) & df["value"].notna()]
        for sid in sel["series_id"].unique():
            key = sid.split(".", 1)[1]
            counts[key] = counts.get(key, 0) + 1
    return counts


def revision_rows(key: str, geo: str) -> pd.DataFrame:
    """etl.vintages.revisions() for one series and geography, rows without a value dropped."""
    return revisions(f"{SOURCE}.{key}", geo).dropna(subset=["value"]).reset_index(drop=True)


def revision_table(rev: pd.DataFrame) -> pd.DataFrame:
    """Months present in more than one vintage: value per vintage, newest − earliest, % revision."""
    shared = rev[rev.groupby("date")["vintage"].transform("nunique") > 1]
    if shared.empty:
        return pd.DataFrame(columns=["date", "revision", "pct_revision"])
    wide = shared.pivot_table(index="date", columns="vintage", values="value", aggfunc="last").sort_index()
    first = shared.sort_values("vintage").groupby("date")["value"]
    out = wide.rename(columns=lambda v: f"as of {v}")
    out["revision"] = first.last() - first.first()
    out["pct_revision"] = 100 * out["revision"] / first.first()
    out.columns.name = None
    return out.reset_index()


def summary(rev: pd.DataFrame, label: str = "") -> str:
    """One sentence on the latest month shared by two or more vintages."""
    n = rev.groupby("date")["vintage"].nunique()
    if not (n > 1).any():
        return ""
    date = n[n > 1].index.max()
    rows = rev[rev["date"] == date].sort_values("vintage")
    old, new = rows.iloc[0], rows.iloc[-1]
    pct = 100 * (new["value"] - old["value"]) / old["value"]
    what = f"{label}: the" if label else "the"
    return (f"Between the {old['vintage']} and {new['vintage']} vintages, {what} 12 months ending {date:%b %Y} "
            f"were revised from {old['value']:,.0f} to {new['value']:,.0f} ({pct:+.1f}%).")


@dataclass
class AsOf:
    frame: pd.DataFrame  # date, value, flag as known on the date (empty when nothing was)
    vintage: str | None
    message: str


def as_of_view(key: str, geo: str, as_of: str) -> AsOf:
    """The series exactly as known on ``as_of``: built from the newest vintage on or before it."""
    when = pd.Timestamp(as_of)
    try:
        df = etl.load(f"{SOURCE}.{key}", geo=geo, as_of=when)
    except LookupError:
        oldest = vintages()[0] if vintages() else "none"
        return AsOf(pd.DataFrame(columns=["date", "value", "flag"]), None,
                    f"Nothing was known on {when:%Y-%m-%d}: the oldest vintage of this source is {oldest}. "
                    "Pick a later date to see what was published then.")
    vintage = snapshots_as_of(SOURCE, when)[-1].date
    df = df.dropna(subset=["value"])[["date", "value", "flag"]]
    if df.empty:
        return AsOf(df, vintage, f"On {when:%Y-%m-%d} (vintage {vintage}) this series had no values here.")
    last = df.iloc[-1]
    flag = f" ({last['flag']})" if isinstance(last["flag"], str) else ""
    return AsOf(df, vintage, f"As known on {when:%Y-%m-%d} — from the {vintage} vintage: {len(df)} months, "
                             f"{df['date'].min():%b %Y} – {last['date']:%b %Y}; last value {last['value']:,.0f}{flag}.")


def figure(rev: pd.DataFrame, view: AsOf, as_of: str, title: str) -> dict:
    """One line per vintage (newest solid and dark, older lighter and dotted) and the as-of series
    highlighted underneath."""
    traces = [] if view.frame.empty else [{"type": "scatter", "x": view.frame["date"], "y": view.frame["value"], "mode": "lines",
                       "name": f"known on {as_of} ({view.vintage} vintage)", "opacity": 0.35,
                       "line": {"color": HIGHLIGHT_COLOR, "width": 9},
                       "hovertemplate": f"<b>known on {as_of}</b><br>12 months ending %{{x|%b %Y}}: %{{y:,.0f}}<extra></extra>"}]
    groups = list(rev.groupby("vintage"))  # oldest first: the newest is drawn on top
    for i, (vintage, g) in enumerate(groups):
        color, dash, width = VINTAGE_STYLES[min(len(groups) - 1 - i, len(VINTAGE_STYLES) - 1)]
        traces.append({"type": "scatter", "x": g["date"], "y": g["value"], "mode": "lines", "name": f"as of {vintage}",
                       "line": {"color": color, "dash": dash, "width": width},
                       "hovertemplate": f"<b>as of {vintage}</b><br>12 months ending %{{x|%b %Y}}: %{{y:,.0f}}<extra></extra>"})
    layout = {
        "title": {"text": title, "x": 0.01, "font": {"size": 16}},
        "font": {"family": FONT, "size": 12, "color": "#222"}, "height": 440, "plot_bgcolor": "#fff",
        "margin": {"l": 70, "r": 20, "t": 50, "b": 80}, "hovermode": "x unified",
        "legend": {"orientation": "h", "traceorder": "reversed", "yref": "container", "y": 0.01, "yanchor": "bottom", "x": 0},
        "xaxis": {"type": "date", "gridcolor": "#eee", "linecolor": "#999"},
        "yaxis": {"title": {"text": "deaths, 12 months ending"}, "gridcolor": "#eee", "tickformat": "~s"},
    }
    if not traces:
        layout["annotations"] = [{"text": "No values in any vintage for this selection", "xref": "paper",
                                  "yref": "paper", "showarrow": False}]
    return {"data": traces, "layout": layout}


@dataclass
class RevisionsResult:
    figure: dict
    table: pd.DataFrame
    summary: str
    as_of: AsOf
    notes: list[str] = field(default_factory=list)


def build(key: str, geo: str, as_of: str) -> RevisionsResult:
    """Everything the page shows for one selection."""
    label = series_keys()[key]
    rev = revision_rows(key, geo)
    n = rev["vintage"].nunique()
    where = f"{label} for {store.geo_name(geo)}"
    notes = [f"No vintage has {where}." if n == 0 else
             f"Only the {rev['vintage'].iloc[0]} vintage has {where}: there are no revisions to compare."] if n < 2 else []
    view = as_of_view(key, geo, as_of)
    title = f"{label} — {store.geo_name(geo)}, by data vintage"
    return RevisionsResult(figure(rev, view, as_of, title), revision_table(rev), summary(rev), view, notes)
