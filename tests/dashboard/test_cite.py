"""Cite this view: the notebook snippet reproduces exactly the view's CSV download."""

import io
from dataclasses import replace

import pandas as pd
import plotly.graph_objects as go
import pytest

from app import app  # noqa: F401  (registers the pages before their modules are imported)
from dashboard import cite, views
from dashboard.pages import home
from dashboard.state import DEFAULT, parse_query, to_query
from dashboard import store

VIEWS = [
    DEFAULT,
    replace(DEFAULT, us_geo="US-AZ", transform="per100k", mx_geo="MX-SON", firearm=True),
    replace(DEFAULT, transform="index", index_at="security-dialogue", seize=("fentanyl", "methamphetamine"),
            measure="events", component="ofo"),
]


def _csv_download(state) -> pd.DataFrame:
    content, filename = views.export(home.state_from_controls(home.control_values(state)), "csv")
    assert filename.endswith(".csv") and state.us_geo in filename
    return pd.read_csv(io.BytesIO(content))


@pytest.mark.parametrize("state", VIEWS, ids=["default", "arizona-per100k", "index-ofo-events"])
def test_snippet_yields_the_rows_of_the_csv_download(state, monkeypatch):
    monkeypatch.setattr(go.Figure, "show", lambda self, *a, **k: None)
    namespace: dict = {}
    exec(cite.snippet(to_query(state)), namespace)  # the text the page shows, run as a user would
    from_snippet = namespace["df"].reset_index(drop=True)
    downloaded = _csv_download(state)
    assert len(from_snippet) == len(downloaded) > 100
    assert list(from_snippet.columns) == list(downloaded.columns)
    pd.testing.assert_series_equal(from_snippet["value"].astype(float), downloaded["value"].astype(float),
                                   check_names=False, rtol=1e-9)
    assert (from_snippet["series_id"] == downloaded["series_id"]).all()


def test_citation_names_publishers_version_and_permalink():
    state = replace(DEFAULT, us_geo="US-TX")
    panels = views.build_panels(state)
    c = cite.citation(state, panels, "http://example.test")
    assert c["permalink"] == "http://example.test/?us_geo=US-TX"
    assert c["version"] == store.data_version([sid for p in panels for sid in p.sources])
    assert "CBP" in c["text"] and "SESNSP" in c["text"] and c["version"] in c["text"]
    assert parse_query(c["permalink"].split("/", 3)[3], store.valid_geos(), set()).state == state


def test_snippet_refuses_a_bad_query():
    with pytest.raises(ValueError, match="us_geo"):
        cite.view_data("?us_geo=XX")
