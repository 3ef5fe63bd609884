"""Figure builders, on synthetic frames (known answers) and the real milestone file."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import figures, store
from dashboard.figures import HIGHLIGHT_COLOR, MILESTONE_COLOR, Line


def synthetic_line(n=24, flags=None, name="Synthetic series", **kw):
    dates = pd.date_range("2019-01-01", periods=n, freq="MS")
    frame = pd.DataFrame({"date": dates, "value": [float(i + 1) for i in range(n)],
                          "flag": flags if flags is not None else [None] * n})
    return Line(name, frame, "#1f4e79", **kw)


@pytest.fixture(scope="module")
def milestones():
    return store.milestones()


def marker_trace(fig):
    found = [t for t in fig.data if t.name == "Policy milestones"]
    assert len(found) == 1
    return found[0]


def test_milestone_marker_trace_on_date_axis(milestones):
    fig = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y")
    assert fig.layout.xaxis.type == "date"
    m = marker_trace(fig)
    assert m.mode == "markers" and m.yaxis == "y2"
    assert len(m.x) == len(milestones)
    assert [pd.Timestamp(x) for x in m.x] == [pd.Timestamp(d) for d in milestones["date"]]
    # hover shows title and source url, both taken from customdata
    assert "%{customdata[0]}" in m.hovertemplate and "%{customdata[2]}" in m.hovertemplate
    first = milestones.iloc[0]
    assert m.customdata[0][0] == first["title_en"]
    assert m.customdata[0][2] == first["source_url"]
    assert str(first["source_url"]).startswith("http")


def test_shapes_at_each_milestone_date(milestones):
    fig = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y")
    shapes = fig.layout.shapes
    assert len(shapes) == len(milestones)
    assert sorted(pd.Timestamp(s.x0) for s in shapes) == sorted(pd.Timestamp(d) for d in milestones["date"])
    for s in shapes:
        assert s.x0 == s.x1 and s.yref == "paper" and (s.y0, s.y1) == (0, 1)
        assert s.line.color == MILESTONE_COLOR


def test_highlighted_milestone_drawn_differently(milestones):
    hl = milestones.iloc[3]
    fig = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y", highlight=hl["id"])
    hl_shapes = [s for s in fig.layout.shapes if s.line.color == HIGHLIGHT_COLOR]
    assert len(hl_shapes) == 1
    assert pd.Timestamp(hl_shapes[0].x0) == pd.Timestamp(hl["date"])
    other = next(s for s in fig.layout.shapes if s.line.color != HIGHLIGHT_COLOR)
    assert hl_shapes[0].line.width > other.line.width
    assert hl_shapes[0].line.dash != other.line.dash
    m = marker_trace(fig)
    assert list(m.marker.color).count(HIGHLIGHT_COLOR) == 1
    assert m.marker.color[3] == HIGHLIGHT_COLOR
    assert m.marker.size[3] > m.marker.size[0]


def test_unknown_highlight_highlights_nothing(milestones):
    fig = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y", highlight="nope")
    assert not [s for s in fig.layout.shapes if s.line.color == HIGHLIGHT_COLOR]


@pytest.mark.parametrize("flag", ["provisional", "fytd"])
def test_flagged_tail_is_a_dashed_segment(flag):
    synthetic_flags = [None] * 20 + [flag] * 4
    fig = figures.timeline_panel([synthetic_line(flags=synthetic_flags)], pd.DataFrame(), title="T", y_label="y")
    solid, dashed = fig.data
    assert solid.line.dash == "solid" and dashed.line.dash == "dash"
    assert flag in dashed.name
    assert solid.line.color == dashed.line.color
    assert pd.Timestamp(dashed.x[-1]) == pd.Timestamp("2020-12-01")
    # every flagged point is on the dashed trace
    assert {pd.Timestamp(x) for x in pd.date_range("2020-09-01", periods=4, freq="MS")} <= \
        {pd.Timestamp(x) for x in dashed.x}


def test_solid_and_dashed_share_exactly_the_joining_point():
    synthetic_flags = [None] * 20 + ["provisional"] * 4
    fig = figures.timeline_panel([synthetic_line(flags=synthetic_flags)], pd.DataFrame(), title="T", y_label="y")
    solid, dashed = fig.data
    assert len(solid.x) == 20  # all final points, ending at the last final one (2020-08)
    assert len(dashed.x) == 5  # the joining point plus the four flagged ones
    assert pd.Timestamp(solid.x[-1]) == pd.Timestamp(dashed.x[0]) == pd.Timestamp("2020-08-01")


def test_all_flagged_is_one_dashed_trace_in_legend():
    fig = figures.timeline_panel([synthetic_line(n=6, flags=["provisional"] * 6)], pd.DataFrame(), title="T",
                                 y_label="y")
    assert len(fig.data) == 1
    assert fig.data[0].line.dash == "dash" and fig.data[0].showlegend is True


def test_unflagged_is_one_solid_trace():
    fig = figures.timeline_panel([synthetic_line()], pd.DataFrame(), title="T", y_label="y")
    assert len(fig.data) == 1 and fig.data[0].line.dash == "solid" and len(fig.data[0].y) == 24


def test_unsmoothed_drawn_faint_behind():
    line = synthetic_line()
    line = Line(line.name, line.frame.assign(unsmoothed=line.frame["value"] * 2), line.color)
    fig = figures.timeline_panel([line], pd.DataFrame(), title="T", y_label="y")
    raw = fig.data[0]
    assert raw.name.endswith("(raw)") and raw.opacity < 1 and raw.showlegend is False


def test_empty_message_and_no_traces():
    fig = figures.timeline_panel([], pd.DataFrame(), title="Nothing", y_label="y", message="No data for this selection")
    assert len(fig.data) == 0
    assert [a.text for a in fig.layout.annotations] == ["No data for this selection"]
    fig = figures.empty("Pick a state")
    assert fig.layout.annotations[0].text == "Pick a state"


def test_layout_range_log_and_title(milestones):
    fig = figures.timeline_panel([synthetic_line()], milestones, title="Deaths", y_label="deaths",
                                 x_range=("2019-01-01", "2020-12-01"), log=True)
    assert fig.layout.title.text == "Deaths"
    assert list(fig.layout.xaxis.range) == ["2019-01-01", "2020-12-01"]
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.title.text == "deaths"


def test_vendored_basic_plotly_matches_the_bundled_plotly_version():
    """The basic bundle stands in for Dash's plotly.js on most pages: keep the versions equal."""
    import re
    from pathlib import Path

    import plotly

    from dashboard.app import PLOTLY_BASIC

    full = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(encoding="utf-8")[:200]
    version = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", full).group(1)
    basic = Path(__file__).resolve().parents[2] / "dashboard" / "assets" / "vendor" / PLOTLY_BASIC
    assert basic.is_file() and f"v{version}" in basic.read_text(encoding="utf-8")[:200]
    assert PLOTLY_BASIC == f"plotly-basic-{version}.min.js"
