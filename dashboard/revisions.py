"""The Revisions page's work, pure: how CDC's provisional counts changed from one data vintage
(raw snapshot) to the next, and what was known on a given date."""

from __future__ import annotations

from typing import NamedTuple

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
    ids = [df.loc[(df["geo"] == geo) & df["value"].notna(), "series_id"].drop_duplicates()
           for df in map(table_for, list_snapshots(SOURCE))]
    return pd.concat(ids).str.split(".", n=1).str[1].value_counts().to_dict() if ids else {}


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
    out = wide.rename(columns=lambda v: f"as of {v}").rename_axis(columns=None)
    out["revision"] = first.last() - first.first()
    out["pct_revision"] = 100 * out["revision"] / first.first()
    return out.reset_index()


def summary(rev: pd.DataFrame) -> str:
    """One sentence on the latest month shared by two or more vintages."""
    n = rev.groupby("date")["vintage"].nunique()
    if not (n > 1).any():
        return ""
    date = n[n > 1].index.max()
    rows = rev[rev["date"] == date].sort_values("vintage")
    old, new = rows.iloc[0], rows.iloc[-1]
    pct = 100 * (new["value"] - old["value"]) / old["value"]
    return (f"Between the {old['vintage']} and {new['vintage']} vintages, the 12 months ending {date:%b %Y} "
            f"were revised from {old['value']:,.0f} to {new['value']:,.0f} ({pct:+.1f}%).")


class AsOf(NamedTuple):
    frame: pd.DataFrame  # date, value, flag as known on the date (empty when nothing was)
    vintage: str | None
    message: str


def as_of_view(key: str, geo: str, as_of: str) -> AsOf:
    """The series exactly as known on ``as_of``: built from the newest vintage on or before it."""
    when = pd.Timestamp(as_of)
    try:
        df = etl.load(f"{SOURCE}.{key}", geo=geo, as_of=when)
    except LookupError:
        return AsOf(pd.DataFrame(columns=["date", "value", "flag"]), None,
                    f"Nothing was known on {when:%Y-%m-%d}: the oldest vintage is {vintages()[0]}; pick a later date.")
    vintage = snapshots_as_of(SOURCE, when)[-1].date
    df = df.dropna(subset=["value"])[["date", "value", "flag"]]
    if df.empty:
        return AsOf(df, vintage, f"On {when:%Y-%m-%d} (vintage {vintage}) this series had no values here.")
    last = df.iloc[-1]
    flag = f" ({last['flag']})" if isinstance(last["flag"], str) else ""
    return AsOf(df, vintage, f"As known on {when:%Y-%m-%d} — from the {vintage} vintage: {len(df)} months, "
                             f"{df['date'].min():%b %Y} – {last['date']:%b %Y}; last value {last['value']:,.0f}{flag}.")


def _line(frame: pd.DataFrame, name: str, line: dict, **extra) -> dict:
    return {"type": "scatter", "x": frame["date"], "y": frame["value"], "mode": "lines", "name": name, "line": line,
            "hovertemplate": f"<b>{name}</b><br>12 months ending %{{x|%b %Y}}: %{{y:,.0f}}<extra></extra>", **extra}


def focus(rev: pd.DataFrame) -> tuple[list, list] | None:
    """x and y ranges on the months the older vintages cover (+1 year), where revisions show."""
    older = rev[rev["vintage"] < rev["vintage"].max()]
    if older.empty:
        return None
    x1 = older["date"].max() + pd.DateOffset(months=12)
    y = rev.loc[rev["date"] <= x1, "value"]  # the as-of series is one of the vintages: no need to add it
    pad = 0.05 * (y.max() - y.min()) or 1
    return [rev["date"].min() - pd.DateOffset(months=1), x1], [y.min() - pad, y.max() + pad]


def figure(rev: pd.DataFrame, view: AsOf, as_of: str, title: str) -> dict:
    """One line per vintage (newest solid and dark, older lighter and dotted) over the as-of series,
    highlighted; zoomed to where the vintages overlap (double-click shows everything)."""
    traces = [] if view.frame.empty else [_line(view.frame, f"known on {as_of} ({view.vintage} vintage)",
                                                {"color": HIGHLIGHT_COLOR, "width": 9}, opacity=0.35)]
    groups = list(rev.groupby("vintage"))  # oldest first: the newest is drawn on top
    for i, (vintage, g) in enumerate(groups):
        color, dash, width = VINTAGE_STYLES[min(len(groups) - 1 - i, len(VINTAGE_STYLES) - 1)]
        traces.append(_line(g, f"as of {vintage}", {"color": color, "dash": dash, "width": width}))
    ranges = focus(rev)
    layout = {
        "title": {"text": title, "x": 0.01, "font": {"size": 16}}, "height": 440, "hovermode": "x unified",
        "font": {"family": FONT, "size": 12}, "plot_bgcolor": "#fff", "margin": {"l": 70, "r": 20, "t": 50, "b": 80},
        "legend": {"orientation": "h", "traceorder": "reversed", "yref": "container", "y": 0.01, "yanchor": "bottom", "x": 0},
        "xaxis": {"type": "date", "gridcolor": "#eee", "linecolor": "#999", "range": ranges and ranges[0]},
        "yaxis": {"title": {"text": "deaths, 12 months ending"}, "gridcolor": "#eee", "tickformat": ",.0f",
                  "range": ranges and ranges[1]},
    }
    if not traces:
        layout["annotations"] = [{"text": "No values in any vintage here", "xref": "paper", "yref": "paper", "showarrow": False}]
    return {"data": traces, "layout": layout}


class RevisionsResult(NamedTuple):
    figure: dict
    table: pd.DataFrame
    summary: str
    as_of: AsOf
    notes: list[str]


def build(key: str, geo: str, as_of: str) -> RevisionsResult:
    """Everything the page shows for one selection."""
    label = series_keys()[key]
    rev = revision_rows(key, geo)
    n = rev["vintage"].nunique()
    have = "No vintage" if n == 0 else f"Only the {rev['vintage'].iloc[0]} vintage"
    notes = [f"{have} has {label} for {store.geo_name(geo)}: there are no revisions to compare."] if n < 2 else []
    view = as_of_view(key, geo, as_of)
    fig = figure(rev, view, as_of, f"{label} — {store.geo_name(geo)}, by data vintage")
    return RevisionsResult(fig, revision_table(rev), summary(rev), view, notes)
