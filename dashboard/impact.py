"""The Impact page's work, pure: run the "did it change?" analyses for one selection and
turn the results into figure specs and plain-language tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dashboard import store
from dashboard.analysis import (
    ITSResult, PlaceboResult, PreparedSeries, WindowComparison, before_after, fit_its, lagged_xcorr, placebo_test,
    prepare,
)
from dashboard.figures import FONT, HIGHLIGHT_COLOR, PALETTE

# key -> (series id, label, which geography list applies)
SERIES = {
    "sesnsp": ("sesnsp_homicide.homicidio_doloso", "Homicide victims (SESNSP)", "mx"),
    "sesnsp_firearm": ("sesnsp_homicide.homicidio_doloso_firearm", "Firearm homicide victims (SESNSP)", "mx"),
    "inegi": ("inegi_homicide.homicides", "Homicide deaths (INEGI)", "mx"),
    "fentanyl_lbs": ("cbp_seizures.fentanyl_lbs", "Fentanyl seized, lbs (CBP)", "cbp"),
    "fentanyl_events": ("cbp_seizures.fentanyl_events", "Fentanyl seizure events (CBP)", "cbp"),
    "meth_lbs": ("cbp_seizures.methamphetamine_lbs", "Methamphetamine seized, lbs (CBP)", "cbp"),
    "cocaine_lbs": ("cbp_seizures.cocaine_lbs", "Cocaine seized, lbs (CBP)", "cbp"),
    "od_all": ("cdc_vsrr_overdose.all_drugs", "Overdose deaths, all drugs (CDC)", "us"),
    "od_synthetic": ("cdc_vsrr_overdose.synthetic_opioids", "Synthetic-opioid deaths (CDC)", "us"),
}
DEFAULT_GEO = {"mx": "MX", "cbp": "CBP-SWB", "us": "US"}
PLACEBO_MIN_SIDE = {"monthly": 12, "annual": 4}  # points a placebo date needs on each side


@dataclass
class ImpactResult:
    figure: dict
    table: pd.DataFrame
    caveats: list[str] = field(default_factory=list)
    conversion: str | None = None
    prepared: PreparedSeries | None = None  # the analysed series and the results, for reuse (findings)
    windows: WindowComparison | None = None
    its: ITSResult | None = None
    placebo: PlaceboResult | None = None


def load_series(key: str, geo: str) -> tuple[pd.Series, str]:
    series_id = SERIES[key][0]
    rows = store.series(series_id, geo)
    frequency = store.series_meta()[series_id]["frequency"]
    return rows.set_index("date")["value"].dropna().astype(float), frequency


def run(key: str, geo: str, milestone_id: str, window: int = 12, gap: int = 0) -> ImpactResult:
    """Windows, interrupted time series and placebo test for one series and milestone."""
    ms = store.milestones()
    when = pd.Timestamp(ms.loc[ms["id"] == milestone_id, "date"].iloc[0])
    title = ms.loc[ms["id"] == milestone_id, "title_en"].iloc[0]
    y, frequency = load_series(key, geo)
    # CDC's 12-month-ending sums overlap: analyse the non-overlapping calendar-year totals.
    convert = "yoy" if frequency == "monthly_12m_ending" else None
    caveats = []
    if convert:
        caveats.append("CDC publishes 12-month-ending sums, which overlap month to month; the analysis uses the "
                       "non-overlapping calendar-year totals (December values) instead, so it has few points.")
    prepared = prepare(y, frequency, convert)
    freq = prepared.frequency
    # An annual series needs whole years on each side: at least one.
    window_months = window if freq == "monthly" else max(12, window // 12 * 12)
    windows = before_after(prepared.series, when, frequency=freq, window_months=window_months, gap_months=gap)
    its = fit_its(prepared.series, when, frequency=freq)
    placebo = placebo_test(prepared.series, when, frequency=freq,
                           min_side_points=PLACEBO_MIN_SIDE[freq], exclusion_months=12)
    caveats += [w for w in (*prepared.warnings, *windows.warnings, *its.warnings, *placebo.warnings)
                if w not in caveats]
    caveats.append("A change after a milestone is not proof the milestone caused it: other events, reporting "
                   "changes and trends that bend for other reasons can produce the same pattern.")
    table = results_table(windows, its, placebo, SERIES[key][1])
    fig = impact_figure(prepared.series, its, when, title, SERIES[key][1], store.geo_name(geo))
    return ImpactResult(fig, table, caveats, convert, prepared, windows, its, placebo)


def _fmt(v: float | None, digits: int = 1) -> str:
    return "—" if v is None or pd.isna(v) else f"{v:,.{digits}f}"


def results_table(windows, its, placebo, label: str) -> pd.DataFrame:
    lc, sc = its.level_change, its.slope_change
    pct = f"{windows.pct_change:+.1f}%" if windows.pct_change is not None else "—"
    return pd.DataFrame([
        {"measure": f"Mean before ({windows.n_before} points)", "estimate": _fmt(windows.mean_before),
         "interval": "", "p_value": ""},
        {"measure": f"Mean after ({windows.n_after} points)", "estimate": _fmt(windows.mean_after),
         "interval": "", "p_value": ""},
        {"measure": "Difference (after − before)", "estimate": f"{_fmt(windows.difference)} ({pct})",
         "interval": "", "p_value": ""},
        {"measure": "Level change at the milestone (ITS)", "estimate": _fmt(lc.estimate),
         "interval": f"{_fmt(lc.ci_low)} to {_fmt(lc.ci_high)}", "p_value": f"{lc.p_value:.3f}"},
        {"measure": f"Slope change ({its.slope_unit})", "estimate": _fmt(sc.estimate, 2),
         "interval": f"{_fmt(sc.ci_low, 2)} to {_fmt(sc.ci_high, 2)}", "p_value": f"{sc.p_value:.3f}"},
        {"measure": f"Placebo: share of {placebo.n_placebos} other dates with a level change at least as large",
         "estimate": f"{placebo.rank_fraction:.0%}", "interval": "", "p_value": f"{placebo.p_value:.3f}"},
    ])


def impact_figure(y: pd.Series, its, when: pd.Timestamp, title: str, label: str, geo_name: str) -> dict:
    traces = [
        {"type": "scatter", "x": y.index, "y": y.values, "mode": "lines+markers", "name": label,
         "line": {"color": PALETTE[0], "width": 1.5}, "marker": {"size": 3}},
        {"type": "scatter", "x": its.fitted_pre.index, "y": its.fitted_pre.values, "mode": "lines",
         "name": "Fitted before", "line": {"color": PALETTE[2], "width": 3}},
        {"type": "scatter", "x": its.fitted_post.index, "y": its.fitted_post.values, "mode": "lines",
         "name": "Fitted after", "line": {"color": PALETTE[1], "width": 3}},
        {"type": "scatter", "x": its.counterfactual.index, "y": its.counterfactual.values, "mode": "lines",
         "name": "Counterfactual (pre-trend extended)", "line": {"color": PALETTE[2], "width": 2, "dash": "dash"}},
    ]
    layout = {
        "title": {"text": f"{label} — {geo_name}: around “{title}”", "x": 0.01, "font": {"size": 16}},
        "font": {"family": FONT, "size": 12}, "height": 420, "plot_bgcolor": "#fff",
        "margin": {"l": 70, "r": 20, "t": 50, "b": 70},
        "legend": {"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom", "x": 0},
        "xaxis": {"type": "date", "gridcolor": "#eee"}, "yaxis": {"gridcolor": "#eee", "rangemode": "tozero"},
        "shapes": [{"type": "line", "x0": when, "x1": when, "y0": 0, "y1": 1, "xref": "x", "yref": "paper",
                    "line": {"color": HIGHLIGHT_COLOR, "width": 2}}],
        "annotations": [{"x": when, "y": 1, "xref": "x", "yref": "paper", "yanchor": "bottom", "showarrow": False,
                         "text": f"<b>{title}</b>", "font": {"color": HIGHLIGHT_COLOR}}],
    }
    return {"data": traces, "layout": layout}


def xcorr(x_key: str, x_geo: str, y_key: str, y_geo: str, method: str = "difference") -> tuple[dict, list[str], str]:
    """Lagged cross-correlation figure, warnings and a one-line reading of the peak."""
    x, fx = load_series(x_key, x_geo)
    y, fy = load_series(y_key, y_geo)
    warnings = []
    if "monthly_12m_ending" in (fx, fy):
        # Monthly counts cannot be recovered here; year-over-year changes of the rolling sums
        # are the honest comparison for a 12-month-ending series.
        x = x.pct_change(12).dropna() if fx == "monthly_12m_ending" else x
        y = y.pct_change(12).dropna() if fy == "monthly_12m_ending" else y
        warnings.append("A CDC 12-month-ending series is compared through its year-over-year % change; "
                        "its autocorrelation is strong, so read the bands as optimistic.")
    res = lagged_xcorr(x, y, frequency="monthly", method=method)
    warnings += res.warnings
    t = res.table
    fig = {"data": [
        {"type": "bar", "x": t["lag"], "y": t["corr"], "marker": {"color": PALETTE[0]}, "name": "correlation"},
    ], "layout": {
        "title": {"text": f"{SERIES[x_key][1]} vs {SERIES[y_key][1]} ({res.method})", "x": 0.01},
        "font": {"family": FONT, "size": 12}, "height": 360, "plot_bgcolor": "#fff", "showlegend": False,
        "xaxis": {"title": {"text": "lag k in months (k > 0: first series leads by k months)"}, "gridcolor": "#eee"},
        "yaxis": {"title": {"text": "correlation"}, "range": [-1, 1], "gridcolor": "#eee"},
        "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": b, "y1": b,
                    "line": {"color": "#999", "dash": "dash"}} for b in (res.band, -res.band)],
    }}
    reading = (f"Peak at lag {res.peak_lag:+d} months, r = {res.peak_corr:.2f} (n = {res.n}; "
               f"95% band ±{res.band:.2f}). {res.sign_convention}.")
    return fig, warnings, reading


def discrepancy() -> tuple[dict, pd.DataFrame, list[str]]:
    """INEGI deaths / SESNSP victims by state and year; states whose ratio jumps flagged."""
    from dashboard.analysis import source_discrepancy

    cols = ["geo", "date", "value"]
    inegi = store.series_all("inegi_homicide.homicides")[cols]
    sesnsp = store.series_all("sesnsp_homicide.homicidio_doloso")[cols]
    res = source_discrepancy(inegi, sesnsp)
    t = res.table
    traces = []
    for geo, g in t.groupby("geo", sort=False):
        national, flagged = geo == "MX", geo in res.flagged_geos
        traces.append({
            "type": "scatter", "x": g["year"], "y": g["ratio"], "mode": "lines+markers" if flagged else "lines",
            "name": store.geo_name(geo), "showlegend": national or flagged,
            "line": {"color": "#111" if national else PALETTE[1] if flagged else "rgba(120,120,120,0.25)",
                     "width": 3 if national else 2 if flagged else 1},
            "hovertemplate": f"<b>{store.geo_name(geo)}</b> %{{x}}: %{{y:.2f}}<extra></extra>",
        })
    fig = {"data": traces, "layout": {
        "title": {"text": "INEGI death certificates ÷ SESNSP victims, by state and year", "x": 0.01},
        "font": {"family": FONT, "size": 12}, "height": 420, "plot_bgcolor": "#fff",
        "margin": {"l": 70, "r": 20, "t": 50, "b": 40},
        "xaxis": {"dtick": 1, "gridcolor": "#eee"}, "yaxis": {"title": {"text": "ratio"}, "gridcolor": "#eee"},
        "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 1, "y1": 1,
                    "line": {"color": "#999", "dash": "dot"}}],
    }}
    flagged = t[t["flagged"]].assign(state=lambda d: d["geo"].map(store.geo_name))
    table = flagged[["state", "year", "inegi", "sesnsp", "ratio", "ratio_change"]].round(2)
    notes = list(res.warnings) + [
        "Ratios above 1: more death certificates than prosecutors' victims. A sharp move in one state's "
        "ratio usually means a change in how that state's prosecutors classify or record cases, not in violence.",
    ]
    return fig, table, notes
