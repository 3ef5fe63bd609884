"""The tidy data contract (DESIGN.md), enforced with pandera on every write."""

from __future__ import annotations

import pandas as pd

from etl import vocabulary
from etl.errors import ValidationError
from etl.metadata import SourceMeta
from etl.reference import geo_table

TIDY_COLUMNS = ["series_id", "geo", "date", "value", "unit", "source_id", "flag"]
FLAGS = set(vocabulary.flags())
COUNT_UNITS = vocabulary.vocabulary().count_units
KEY = ["series_id", "geo", "date"]


def tidy_schema(meta: SourceMeta):
    """The pandera schema of a source's tidy table (pandera is imported here, not at module
    level: readers of the tidy tables, such as the dashboard, never need it)."""
    import pandera.pandas as pa

    series = meta.series_by_id()
    geos = set(geo_table()["geo"])
    units = {s.unit for s in series.values()}
    return pa.DataFrameSchema(
        {
            "series_id": pa.Column(str, pa.Check.isin(sorted(series)), nullable=False),
            "geo": pa.Column(str, pa.Check.isin(sorted(geos)), nullable=False),
            "date": pa.Column("datetime64[ns]", nullable=False),
            "value": pa.Column(float, nullable=True),
            "unit": pa.Column(str, pa.Check.isin(sorted(units)), nullable=False),
            "source_id": pa.Column(str, pa.Check.equal_to(meta.id), nullable=False),
            "flag": pa.Column(str, pa.Check.isin(sorted(FLAGS)), nullable=True),
        },
        checks=[
            pa.Check(lambda df: ~df.duplicated(KEY), error="(series_id, geo, date) must be unique"),
            pa.Check(
                lambda df: ~(df["unit"].isin(COUNT_UNITS) & (df["value"] < 0)),
                error="counts must not be negative",
            ),
            pa.Check(
                lambda df: df["value"].notna() | (df["flag"] == "suppressed"),
                error="a missing value needs flag 'suppressed'",
            ),
            pa.Check(
                lambda df: df["unit"] == df["series_id"].map({k: s.unit for k, s in series.items()}),
                error="unit must match the series' declared unit",
            ),
            pa.Check(lambda df: df["date"].dt.day == 1, error="date must be the first day of its period"),
        ],
        strict=True,
        ordered=False,
        coerce=False,
    )


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Column order, dtypes and sort order every tidy table shares."""
    missing = [c for c in TIDY_COLUMNS if c not in df.columns]
    if missing:
        raise ValidationError(f"tidy table lacks column(s) {missing}")
    out = df[TIDY_COLUMNS].copy()
    for col in ("series_id", "geo", "unit", "source_id"):
        out[col] = out[col].astype(object).astype(str)
    out["flag"] = out["flag"].astype(object).where(out["flag"].notna(), None)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    out["value"] = pd.to_numeric(out["value"], errors="raise").astype(float)
    return out.sort_values(KEY, kind="stable").reset_index(drop=True)


def pandera_errors():
    import pandera.errors

    return pandera.errors


def validate(df: pd.DataFrame, meta: SourceMeta) -> pd.DataFrame:
    """Raise ValidationError (naming the source and the failed checks) or return the table."""
    if df.empty:
        raise ValidationError("transform produced no rows", source_id=meta.id)
    try:
        tidy_schema(meta).validate(df, lazy=True)
    except (pandera_errors().SchemaErrors, pandera_errors().SchemaError) as exc:
        cases = getattr(exc, "failure_cases", None)
        if cases is not None and len(cases):
            summary = "; ".join(
                f"{r.column or 'table'}: {r.check} (e.g. {r.failure_case!r})"
                for r in cases.drop_duplicates(["column", "check"]).head(6).itertuples()
            )
        else:
            summary = str(exc).splitlines()[0]
        raise ValidationError(f"tidy table breaks the contract: {summary}", source_id=meta.id) from exc
    if meta.first_date is not None:
        first = df["date"].min().date()
        if first > meta.first_date:
            raise ValidationError(
                f"data starts {first}, expected {meta.first_date} or earlier (publisher's known shape)",
                source_id=meta.id,
            )
    n_geos = df["geo"].nunique()
    if n_geos < meta.min_geos:
        raise ValidationError(f"only {n_geos} geographies, expected at least {meta.min_geos}", source_id=meta.id)
    return df
