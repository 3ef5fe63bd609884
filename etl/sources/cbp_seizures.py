"""U.S. CBP Nationwide Drug Seizures: monthly pounds and events by drug, component, region, AOR.

CBP replaces one rolling four-fiscal-year CSV every month (its name changes), so a snapshot
keeps the current release plus the older releases still needed; each fiscal year is taken
from the newest release that contains it, so overlapping years are never counted twice.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlparse

import numpy as np
import pandas as pd

from etl.errors import FetchError, ParseError
from etl.http import RawFile
from etl.reference import cbp_aor_geo

if TYPE_CHECKING:
    from etl.pipeline import FetchContext
    from etl.snapshot import Snapshot

SOURCE_ID = "cbp_seizures"
DISCOVERY_URL = "https://www.cbp.gov/document/stats/nationwide-drug-seizures"
LINK_RE = re.compile(r"""href\s*=\s*["']([^"']*nationwide-drugs-fy\d{2}-fy\d{2}[^"'/]*\.csv)["']""", re.I)

COLUMNS = ["FY", "Month (abbv)", "Component", "Region", "Land Filter", "Area of Responsibility",
           "Drug Type", "Count of Event", "Sum Qty (lbs)"]
FY_RE = r"^(?P<fy>\d{4})(?P<fytd> \(FYTD\))?$"  # "2025" or "2026 (FYTD)"
MONTHS = {"OCT": 10, "NOV": 11, "DEC": 12, "JAN": 1, "FEB": 2, "MAR": 3,
          "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9}
DRUGS = {
    "Fentanyl": "fentanyl", "Methamphetamine": "methamphetamine", "Cocaine": "cocaine",
    "Heroin": "heroin", "Marijuana": "marijuana", "Ecstasy": "other", "Ketamine": "other",
    "Khat (Catha Edulis)": "other", "Lsd": "other", "Other Drugs**": "other",
}
COMPONENTS = {"Office of Field Operations": "ofo", "U.S. Border Patrol": "usbp"}
REGIONS = {"Southwest Border": "CBP-SWB", "Northern Border": "CBP-NB", "Coastal/Interior": "CBP-CI"}
MEASURES = {"lbs": "lbs", "events": "events"}  # measure (series suffix) -> unit


def fetch(ctx: FetchContext) -> list[RawFile]:
    page = ctx.http.get(DISCOVERY_URL, source_id=SOURCE_ID, name="discovery.html", allow_html=True)
    match = LINK_RE.search(page.content.decode("utf-8", errors="replace"))
    if not match:
        raise FetchError("no nationwide-drugs-fy..-fy...csv link on the discovery page",
                         source_id=SOURCE_ID, url=DISCOVERY_URL)
    url = urljoin(page.url, match.group(1))
    name = urlparse(url).path.rsplit("/", 1)[-1]
    kept = ctx.previous.files if ctx.previous else []
    same = next((f for f in kept if f["url"] == url), {})  # conditional GET: raises NotModified on 304
    current = ctx.http.get(url, source_id=SOURCE_ID, name=name,
                           etag=same.get("etag"), last_modified=same.get("last_modified"))
    # Older releases still supplying a fiscal year the new one lacks are carried over (new file first).
    older = [_carry_over(ctx.previous, f) for f in kept if f["name"] != name]
    needed = set(_owners([_parse(f.content, f.name, f.url) for f in [current, *older]]).values())
    return [current] + [f for i, f in enumerate(older, start=1) if i in needed]


def transform(snapshot: Snapshot) -> pd.DataFrame:
    releases = [_parse(snapshot.path(f["name"]).read_bytes(), f["name"], f.get("url")) for f in snapshot.files]
    owners = _owners(releases)
    rows = pd.concat([r[r["fy"].map(owners) == i] for i, r in enumerate(releases)], ignore_index=True)
    tidy = _fill_zeros(_aggregate(rows))
    fytd_years = set(rows.loc[rows["fytd"], "fy"])
    fiscal_year = tidy["date"].dt.year + (tidy["date"].dt.month >= 10)
    tidy["flag"] = np.where(fiscal_year.isin(fytd_years), "fytd", None)
    tidy["source_id"] = SOURCE_ID
    return tidy


def _carry_over(previous: Snapshot, entry: dict) -> RawFile:
    """An older release kept from the previous snapshot, with its original provenance."""
    return RawFile(name=entry["name"], content=previous.path(entry["name"]).read_bytes(), url=entry["url"],
                   accessed_at=entry["accessed_at"], etag=entry.get("etag"),
                   last_modified=entry.get("last_modified"), content_type=entry.get("content_type"))


def _parse(content: bytes, name: str, url: str | None) -> pd.DataFrame:
    """One release -> fy, fytd, date, drug, component, region, aor, lbs, events (codes, not names)."""
    def fail(problem: str) -> ParseError:
        return ParseError(f"{name}: {problem}", source_id=SOURCE_ID, url=url)

    if not content.strip():
        raise fail("empty file")
    # Categorical text columns: every lookup below maps a few dozen distinct values, not 10k rows.
    raw = pd.read_csv(io.BytesIO(content), dtype="category", keep_default_na=False)
    if list(raw.columns) != COLUMNS:
        raise fail(f"unexpected header; expected {COLUMNS}, found {list(raw.columns)}")
    if raw.empty:
        raise fail("no data rows")
    labels = raw["FY"].cat.categories.astype(str).str.extract(FY_RE)  # parse each distinct label once
    fy = labels.iloc[raw["FY"].cat.codes.to_numpy()].reset_index(drop=True)
    _check_known(raw["FY"], fy["fy"].notna(), "FY", fail)
    out = pd.DataFrame({"fy": fy["fy"].astype(int), "fytd": fy["fytd"].notna()})
    month = _lookup(raw["Month (abbv)"], MONTHS, fail).astype(int)
    year = out["fy"] - (month >= 10)  # OCT-DEC belong to the previous calendar year
    out["date"] = ((year - 1970) * 12 + month - 1).to_numpy().astype("datetime64[M]").astype("datetime64[ns]")
    out["fpos"] = out["fy"] * 12 + (month - 10) % 12  # release recency: latest (FY, month)
    out["drug"] = _lookup(raw["Drug Type"], DRUGS, fail)
    out["component"] = _lookup(raw["Component"], COMPONENTS, fail)
    out["region"] = _lookup(raw["Region"], REGIONS, fail)
    out["aor"] = _lookup(raw["Area of Responsibility"], cbp_aor_geo(), fail)
    for column, measure in (("Sum Qty (lbs)", "lbs"), ("Count of Event", "events")):
        values = pd.to_numeric(raw[column].astype(str), errors="coerce")
        _check_known(raw[column], values.notna(), column, fail, what="non-numeric")
        out[measure] = values.astype(float)
    return out


def _lookup(values: pd.Series, mapping: dict, fail) -> pd.Series:
    mapped = values.map(mapping).astype(object)
    _check_known(values, mapped.notna(), values.name, fail)
    return mapped


def _check_known(values: pd.Series, ok: pd.Series, column: str, fail, what: str = "unknown") -> None:
    if not ok.all():
        i = int(np.flatnonzero(~ok.to_numpy())[0])
        raise fail(f"{what} {column!r} value {values.iloc[i]!r} in data row {i + 1} (line {i + 2})")


def _owners(releases: list[pd.DataFrame]) -> dict[int, int]:
    """Fiscal year -> index of the newest release holding it (ties: earlier in the manifest)."""
    order = sorted(range(len(releases)), key=lambda i: (-releases[i]["fpos"].max(), i))
    owners: dict[int, int] = {}
    for i in order:
        for fy in releases[i]["fy"].unique():
            owners.setdefault(int(fy), i)
    return owners


def _aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    """Sum rows into US / region / AOR, each as OFO+USBP and per component."""
    rows = rows.assign(US="US")
    parts = [rows.assign(geo=rows[level], part=part)
             for level in ("US", "region", "aor")
             for part in ("", "_" + rows["component"])]
    both = pd.concat(parts, ignore_index=True)
    sums = both.groupby(["drug", "part", "geo", "date"], as_index=False)[list(MEASURES)].sum()
    long = sums.melt(id_vars=["drug", "part", "geo", "date"], var_name="measure", value_name="value")
    long["series_id"] = SOURCE_ID + "." + long["drug"] + "_" + long["measure"] + long["part"]
    long["unit"] = long["measure"].map(MEASURES)
    return long[["series_id", "geo", "unit", "date", "value"]]


def _fill_zeros(long: pd.DataFrame) -> pd.DataFrame:
    """A missing row means no seizure: every (series, geo) gets every month of the data's range."""
    months = pd.date_range(long["date"].min(), long["date"].max(), freq="MS")
    wide = long.pivot_table(index=["series_id", "geo", "unit"], columns="date", values="value", aggfunc="sum")
    wide = wide.reindex(columns=months).fillna(0.0)
    wide.columns.name = "date"
    return wide.stack().rename("value").reset_index()
