"""The Maps page's work, pure: annual state rates per 100,000 residents per year, the years each
map can draw, the choropleth (shipped GeoJSON, plotly ``geo`` projections: nothing is fetched at
run time), the table of mapped values and the sentence a screen reader gets instead of the map.

Rates are crude: deaths (or homicides) in one calendar year / population that year x 100,000.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import plotly.graph_objects as go

from dashboard import store
from dashboard.figures import FONT, SEPARATORS
from dashboard.i18n import number, t
from etl import paths
from etl.reference import geo_table, states

COLORSCALE = "YlOrRd"
NO_DATA_COLOR = "#d9dde1"  # states without a value (suppressed, or not published)


@dataclass(frozen=True)
class MapSpec:
    """One of the two maps: which series each option draws and how it joins the shapes."""
    key: str                      # "us" | "mx": message keys maps.<key>.*
    country: str
    options: dict[str, str]       # option id -> series id
    population: str               # series id of the denominators
    geojson: str                  # file under data/geo
    featureidkey: str             # where the GeoJSON keeps the 2-digit FIPS / INEGI code
    # How a calendar year's count is read: the December value of a 12-month-ending sum (CDC), or
    # the sum of the year's 12 monthly values (Mexico); an incomplete year would understate a rate.
    annual: str                   # "december" | "sum12"
    # Areas the publisher reports apart that belong to one mapped state: CDC's "New York" excludes
    # New York City, so the state's count is the sum of both (its population includes the city).
    merge: dict[str, str]


def load_specs(path: Path = Path(__file__).with_name("maps.toml")) -> dict[str, MapSpec]:
    """The maps as declared in maps.toml (metadata, not code)."""
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return {key: MapSpec(key=key, **entry) for key, entry in raw.items()}


SPECS = load_specs()
US, MX = SPECS["us"], SPECS["mx"]

# Projections that hold a whole country in the frame: albers USA draws Alaska and Hawaii as
# insets; Mexico in Mercator, framed on its states. No base layers, so no topojson is requested.
GEO_LAYOUT = {
    "us": {"scope": "usa", "projection": {"type": "albers usa"}},
    "mx": {"projection": {"type": "mercator"}, "lonaxis": {"range": [-117.5, -86.5]}, "lataxis": {"range": [14.3, 32.8]}},
}
# plotly.js fetches a topojson base map (from its CDN) for every geo subplot with a
# ``locationmode`` trace, even with every base layer off: the page points it at the empty
# topologies in assets/topojson/ (same origin) instead; the shapes are the shipped GeoJSON.
TOPOJSON_ASSETS = "topojson/"
GEO_BLANK = {"visible": False, "showland": False, "showcoastlines": False, "showcountries": False,
             "showsubunits": False, "showlakes": False, "showocean": False, "showrivers": False,
             "showframe": False, "bgcolor": "rgba(0,0,0,0)"}


@lru_cache(maxsize=2)
def geojson(name: str) -> dict:
    return json.loads((paths.data_dir() / "geo" / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=2)
def _places(country: str) -> pd.DataFrame:
    """ISO code -> shape id (2-digit agency code) and the English and Spanish names."""
    ref = states()
    ref = ref[ref["country"] == country][["iso_3166_2", "agency_code"]]
    geo = geo_table()[["geo", "name", "name_es"]]
    out = ref.merge(geo, left_on="iso_3166_2", right_on="geo", how="left")
    out["name_es"] = out["name_es"].where(out["name_es"] != "", out["name"])
    out["location"] = out["agency_code"].str.zfill(2)
    return out[["geo", "location", "name", "name_es"]]


def _annual_counts(spec: MapSpec, series_id: str) -> pd.DataFrame:
    """geo, year, count, suppressed for every state and year the publisher covers in full."""
    df = store.series_all(series_id)
    df = df.assign(geo=df["geo"].replace(spec.merge), year=df["date"].dt.year)
    df = df[df["geo"].isin(set(_places(spec.country)["geo"]))]
    suppressed = df["flag"].eq("suppressed")
    if spec.annual == "december":
        dec = df[df["date"].dt.month == 12].assign(suppressed=suppressed)
        # merged areas: a value only when every part has one (a suppressed part suppresses the sum)
        out = dec.groupby(["geo", "year"], as_index=False).agg(
            count=("value", lambda v: v.sum() if v.notna().all() else float("nan")),
            suppressed=("suppressed", "any"))
        return out
    monthly = df.assign(suppressed=suppressed).groupby(["geo", "year"], as_index=False).agg(
        count=("value", lambda v: v.sum() if v.notna().all() else float("nan")),
        months=("value", "size"), suppressed=("suppressed", "any"))
    return monthly[monthly["months"] == 12].drop(columns="months")


def _population(spec: MapSpec) -> pd.DataFrame:
    pop = store.series_all(spec.population)
    return pop.assign(year=pop["date"].dt.year).rename(columns={"value": "population"})[["geo", "year", "population"]]


@lru_cache(maxsize=16)
def _rates(key: str, option: str, token: int) -> pd.DataFrame:
    spec = SPECS[key]
    counts = _annual_counts(spec, spec.options[option]).merge(_population(spec), on=["geo", "year"], how="inner")
    counts["value"] = counts["count"] / counts["population"] * 1e5
    return counts.merge(_places(spec.country), on="geo")


def all_rates(key: str, option: str) -> pd.DataFrame:
    """Every state and year of one map: geo, year, count, suppressed, population, value (per
    100k per year), location, name, name_es. A year is listed when its count is complete and
    its population is published; a suppressed state has a missing count and value."""
    return _rates(key, option, store.catalog_token())


def year_rates(key: str, option: str, year: int) -> pd.DataFrame:
    """One year of one map (empty when the year has no state values)."""
    df = all_rates(key, option)
    df = df[df["year"] == year]
    return df if df["value"].notna().any() else df.iloc[0:0]


def years(key: str, option: str) -> list[int]:
    """Years with at least one state value on this map."""
    df = all_rates(key, option)
    return sorted(int(y) for y in df.loc[df["value"].notna(), "year"].unique())


def offered_years() -> list[int]:
    """Every year some option of either map can draw: the years a link or a callback may name
    (the Year list itself is ``years_for`` the options shown)."""
    return sorted({y for key, spec in SPECS.items() for opt in spec.options for y in years(key, opt)})


def years_for(us_option: str, mx_option: str) -> list[int]:
    """The Year list for the options shown: every year at least one of the two maps draws (the
    page says, per map, when the other has nothing for the year)."""
    return sorted(set(years("us", us_option)) | set(years("mx", mx_option)))


def year_empty_notice(year: int, choices: list[int]) -> list[tuple[str, dict]]:
    """A notice (catalog key and parameters) when ``year`` is not among ``choices`` (``years_for``
    the chosen maps). The year is kept, not moved: a link opens the view it named, and a cached
    answer depends on its inputs only."""
    if year in choices or not choices:
        return []
    return [("maps.notice.year_empty", {"year": str(year), "first": str(choices[0]), "last": str(choices[-1])})]


def later_years(us_option: str, mx_option: str) -> tuple[list[int], list[tuple[str, str]]]:
    """Years after the last of the Year list that the other options draw, and those options as
    (map key, option): on the default series the list ends in 2022, and nothing said that
    synthetic opioids and SESNSP reach 2024."""
    shown = years_for(us_option, mx_option)
    if not shown:
        return [], []
    chosen = {"us": us_option, "mx": mx_option}
    others = [(key, opt) for key, spec in SPECS.items() for opt in spec.options
              if opt != chosen.get(key) and any(y > shown[-1] for y in years(key, opt))]
    return sorted({y for key, opt in others for y in years(key, opt) if y > shown[-1]}), others


def default_year() -> int:
    """The latest year both maps draw with their default options."""
    both = set(years("us", next(iter(US.options)))) & set(years("mx", next(iter(MX.options))))
    return max(both) if both else max(offered_years())


def national_rate(key: str, option: str, year: int) -> float | None:
    """The country's own rate (the publisher's national count / national population)."""
    spec = SPECS[key]
    counts = _annual_counts_national(spec, spec.options[option])
    pop = _population(spec)
    c = counts.get(year)
    p = pop[(pop["geo"] == spec.country) & (pop["year"] == year)]["population"]
    return None if c is None or p.empty else float(c / p.iloc[0] * 1e5)


def _annual_counts_national(spec: MapSpec, series_id: str) -> dict[int, float]:
    df = store.series(series_id, spec.country).dropna(subset=["value"])
    if spec.annual == "december":
        dec = df[df["date"].dt.month == 12]
        return dict(zip(dec["date"].dt.year, dec["value"]))
    g = df.groupby(df["date"].dt.year)["value"].agg(["sum", "size"])
    return g.loc[g["size"] == 12, "sum"].to_dict()


# --- words -----------------------------------------------------------------------------------

def series_title(key: str, option: str, lang: str) -> str:
    return t(f"maps.{key}.option.{option}", lang)


def figure_title(key: str, option: str, year: int, lang: str) -> str:
    return t(f"maps.{key}.figure_title.{option}", lang, year=str(year))


def source_ids(key: str, option: str) -> list[str]:
    spec = SPECS[key]
    return [spec.options[option].split(".", 1)[0], spec.population.split(".", 1)[0]]


def source_line(key: str, option: str, lang: str) -> str:
    """The lines printed inside the figure (so an exported image keeps them): who published the
    counts and the population, and the snapshot each came from."""
    cat = store.catalog()["sources"]
    counts_id, pop_id = source_ids(key, option)
    parts = [t("maps.source_part", lang, publisher=store.source_short(counts_id, lang).split(",")[0],
               snapshot=cat.get(counts_id, {}).get("snapshot", "—")),
             # one population source holds both countries: name the publisher of this country's part
             t("maps.source_part", lang, publisher=t(f"maps.{key}.population_source", lang),
               snapshot=cat.get(pop_id, {}).get("snapshot", "—"))]
    return t("maps.source_line", lang, sources="<br>".join(parts))


def names(frame: pd.DataFrame, lang: str) -> pd.Series:
    return frame["name_es"] if lang == "es" else frame["name"]


def summary(key: str, option: str, year: int, frame: pd.DataFrame, lang: str) -> str:
    """What the map shows, in words: highest and lowest states, the national rate, gaps."""
    title = series_title(key, option, lang)
    shown = frame.dropna(subset=["value"]).sort_values("value")
    if shown.empty:
        avail = years(key, option)
        return t("maps.summary.none", lang, title=title, year=str(year),
                 first=str(avail[0]) if avail else "—", last=str(avail[-1]) if avail else "—")
    hi, lo = shown.iloc[-1], shown.iloc[0]
    nat = national_rate(key, option, year)
    text = t("maps.summary.text", lang, title=title, year=str(year), n=len(shown),
             high=names(shown, lang).iloc[-1], high_rate=number(hi["value"], lang, 1),
             low=names(shown, lang).iloc[0], low_rate=number(lo["value"], lang, 1),
             unit=t(f"maps.{key}.unit", lang))
    if nat is not None:
        text += " " + t("maps.summary.national", lang, rate=number(nat, lang, 1))
    missing = frame[frame["value"].isna()]
    if len(missing):
        text += " " + t("maps.summary.suppressed", lang, states=", ".join(names(missing, lang)))
    return text


def figure(key: str, option: str, year: int, frame: pd.DataFrame, lang: str) -> go.Figure:
    """The choropleth, with its title, unit and source inside the figure; a message instead of
    shapes when the year has no values."""
    spec = SPECS[key]
    title = figure_title(key, option, year, lang)
    unit = t(f"maps.{key}.unit", lang)
    fig = go.Figure()
    shown = frame.dropna(subset=["value"])
    if shown.empty:
        fig.add_annotation(text=t("maps.figure.no_data", lang, year=str(year)), xref="paper", yref="paper",
                           x=0.5, y=0.5, showarrow=False, font={"size": 14})
        # no geo trace: plotly would draw an empty grid with meaningless numbered axes instead
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    else:
        hover = [t(f"maps.{key}.hover", lang, name=n, rate=number(v, lang, 1), count=number(c, lang, 0),
                   population=number(p, lang, 0))
                 for n, v, c, p in zip(names(shown, lang), shown["value"], shown["count"], shown["population"])]
        missing = frame[frame["value"].isna()]
        if len(missing):  # grey shapes, so a suppressed state is not mistaken for a missing shape
            fig.add_trace(go.Choropleth(
                geojson=geojson(spec.geojson), featureidkey=spec.featureidkey, locations=missing["location"],
                z=[0] * len(missing), colorscale=[[0, NO_DATA_COLOR], [1, NO_DATA_COLOR]], showscale=False,
                marker_line_color="#fff", marker_line_width=0.6, name=t("maps.figure.suppressed", lang),
                text=[t("maps.hover.suppressed", lang, name=n) for n in names(missing, lang)],
                hovertemplate="%{text}<extra></extra>"))
        fig.add_trace(go.Choropleth(
            geojson=geojson(spec.geojson), featureidkey=spec.featureidkey, locations=shown["location"],
            z=shown["value"].round(2), colorscale=COLORSCALE, marker_line_color="#fff", marker_line_width=0.6,
            # under the map, not beside it: a phone keeps the whole width for the shapes
            colorbar={"title": {"text": t(f"maps.{key}.colorbar", lang), "side": "top"}, "orientation": "h",
                      "x": 0, "xanchor": "left", "y": 0, "yanchor": "top", "yref": "paper", "len": 0.6,
                      "thickness": 10, "tickformat": ",.0f", "outlinewidth": 0, "ypad": 4},
            text=hover, hovertemplate="%{text}<extra></extra>", name=title))
    fig.update_geos(**GEO_BLANK, **GEO_LAYOUT[key])
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 14},
               "subtitle": {"text": unit, "font": {"size": 12, "color": "#5b6770"}}},
        font={"family": FONT, "color": "#1d2630"}, separators=SEPARATORS, dragmode=False,  # height: the page's CSS, by screen width
        margin={"l": 4, "r": 4, "t": 60, "b": 116}, paper_bgcolor="#fff",
        annotations=[*fig.layout.annotations, {
            "text": source_line(key, option, lang), "xref": "paper", "yref": "paper", "x": 0, "y": 0,
            "yshift": -114, "xanchor": "left", "yanchor": "bottom", "showarrow": False,
            "font": {"size": 10, "color": "#5b6770"}, "align": "left"}],
    )
    return fig


SORTS = ("-rate", "rate", "name", "-name")


def table_rows(frame: pd.DataFrame, lang: str, sort: str = "-rate") -> list[dict]:
    """The mapped values as table rows (state, rate, count, population), in ``sort`` order;
    suppressed states last."""
    df = frame.assign(shown_name=names(frame, lang))
    col = "value" if sort.lstrip("-") == "rate" else "shown_name"
    df = df.sort_values(col, ascending=not sort.startswith("-"), na_position="last", key=(
        (lambda s: s.str.normalize("NFKD").str.lower()) if col == "shown_name" else None))
    return [{"name": r.shown_name,
             "rate": number(r.value, lang, 1) if pd.notna(r.value) else t("maps.table.suppressed", lang),
             "count": number(r.count, lang, 0) if pd.notna(r.count) else "—",
             "population": number(r.population, lang, 0)} for r in df.itertuples()]
