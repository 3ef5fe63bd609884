"""Figure builders, on synthetic frames (known answers) and the real milestone file."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import figures, store
from dashboard.figures import HIGHLIGHT_COLOR, FigureText, Line
from dashboard.registry import label
from etl import vocabulary

EN, ES = FigureText.for_lang("en"), FigureText.for_lang("es")
WIDE = ("2006-01-01", "2026-01-01")     # twenty years: the autumn-2021 milestones share one marker
AUTUMN_2021 = ("2021-09-01", "2021-10-31")


def synthetic_line(n=24, flags=None, name="Synthetic series", **kw):
    dates = pd.date_range("2019-01-01", periods=n, freq="MS")
    frame = pd.DataFrame({"date": dates, "value": [float(i + 1) for i in range(n)],
                          "flag": flags if flags is not None else [None] * n})
    return Line(name, frame, "#1f4e79", **kw)


@pytest.fixture(scope="module")
def milestones():
    return store.milestones()


def marker_traces(fig):
    """The milestone markers: triangles on the overlay axis, one trace per category."""
    found = [t for t in fig.data if t.yaxis == "y2" and t.marker.symbol == "triangle-down"]
    assert found
    return found


def markers(fig) -> list[tuple[pd.Timestamp, str, str, str]]:
    """(x, text, colour, hover) of every drawn marker, in date order."""
    out = [(pd.Timestamp(x), txt, col, hov) for t in marker_traces(fig)
           for x, txt, col, hov in zip(t.x, t.text, t.marker.color, t.hovertext)]
    return sorted(out, key=lambda m: m[0])


def data_traces(fig, line):
    return [t for t in fig.data if t.legendgroup == line.name]


def members(text: str) -> int:
    """A single marker carries its number; a cluster 'N+' stands for N milestones."""
    return int(text[:-1]) if text.endswith("+") else 1


def test_milestone_markers_on_date_axis_are_numbered_like_the_key(milestones):
    fig = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y", text=EN)
    assert fig.layout.xaxis.type == "date"
    for t in marker_traces(fig):
        assert t.mode == "markers+text" and t.yaxis == "y2"
    numbers = store.milestone_numbers()
    assert numbers == figures.milestone_numbers(milestones)
    assert sorted(numbers.values()) == list(range(1, len(milestones) + 1))
    assert numbers["merida-announced"] == 1  # the earliest
    drawn = markers(fig)
    assert sum(members(m[1]) for m in drawn) == len(milestones)  # every milestone, once
    by_number = {str(n): mid for mid, n in numbers.items()}
    singles = [m for m in drawn if not m[1].endswith("+")]
    assert singles
    ms = milestones.set_index("id")
    for x, text, _colour, hover in singles:
        row = ms.loc[by_number[text]]
        assert x == pd.Timestamp(row["date"])
        # hover: number, title, date and the source's address
        assert hover.startswith(f"<b>{text} · ") and row["title_en"][:30] in hover.replace("<br>", " ")
        assert row["source_url"][:40] in hover.replace("<br>", "")
        assert str(row["source_url"]).startswith("http")


def test_milestone_markers_sit_in_a_strip_above_the_data_and_change_points_at_its_foot(milestones):
    """Drawn over the plot, the markers hid the top of any line that reached it (Mexico's
    homicides at 3,000 a month); change points stay on the data's own domain."""
    frame = pd.DataFrame({"date": pd.date_range("2019-01-01", periods=24, freq="MS"), "value": [3000.0] * 24,
                          "flag": [None] * 24})
    fig = figures.timeline_spec([Line("Flat at the top", frame, "#1f4e79")], milestones, title="T", y_label="y",
                                changepoints=([pd.Timestamp("2020-01-01")], ["a change"], "Flat at the top"),
                                text=EN)
    layout = fig["layout"]
    data_top = layout["yaxis"]["domain"][1]
    strip = layout["yaxis2"]["domain"]
    assert "overlaying" not in layout["yaxis2"] and strip[0] >= data_top and strip[1] == 1
    ms = [t for t in fig["data"] if t.get("yaxis") == "y2"]
    assert ms and all(t["cliponaxis"] is False for t in ms)  # the numbers above a marker are not cut
    (cp,) = [t for t in fig["data"] if t.get("marker", {}).get("symbol") == "diamond"]
    assert layout[cp["yaxis"].replace("y", "yaxis")]["overlaying"] == "y"


def test_markers_are_coloured_and_named_by_category(milestones):
    fig = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y", text=EN,
                                 x_range=AUTUMN_2021)
    cats = vocabulary.milestone_categories()
    names = {label(c, "en"): k for k, c in cats.items()}
    for t in marker_traces(fig):
        assert t.name in names or t.name == EN.mixed, t.name
        if t.name in names:
            assert set(t.marker.color) == {figures._category_color(names[t.name], 1.0)}
    assert len({t.name for t in marker_traces(fig)}) >= 4  # agreement, dialogue, enforcement, report...
    es = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y", text=ES, lang="es")
    assert {t.name for t in marker_traces(es)} <= {label(c, "es") for c in cats.values()} | {ES.mixed}


def test_close_milestones_cluster_at_a_wide_range_and_split_when_it_narrows(milestones):
    wide = markers(figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y", text=EN,
                                          x_range=WIDE))
    clusters = [m for m in wide if m[1].endswith("+")]
    assert clusters and max(members(m[1]) for m in clusters) >= 3
    big = max(clusters, key=lambda m: members(m[1]))
    n = members(big[1])
    assert big[3].startswith(f"<b>{EN.cluster.format(n=n)}</b>")  # "8 milestones", then one line each
    assert big[3].count("<br>") >= n
    narrow = markers(figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y", text=EN,
                                            x_range=AUTUMN_2021))
    inside = milestones[(milestones["date"] >= AUTUMN_2021[0]) & (milestones["date"] <= AUTUMN_2021[1])]
    numbers = store.milestone_numbers()
    shown = {m[1] for m in narrow if pd.Timestamp(AUTUMN_2021[0]) <= m[0] <= pd.Timestamp(AUTUMN_2021[1])}
    # zoomed to two months, each milestone of those months has its own numbered marker
    assert shown == {str(numbers[mid]) for mid in inside["id"]} and len(shown) == len(inside) >= 4
    # Spanish cluster hover
    es = markers(figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y", text=ES,
                                        x_range=WIDE, lang="es"))
    assert any(m[3].startswith(f"<b>{n} hitos</b>") for m in es)


def test_cluster_milestones_on_synthetic_dates():
    """Known answer: 10 days apart is one marker on a ten-year axis (about 44 days per 10 px)
    and two on a one-year axis (about 4 days)."""
    dates = [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-01-11"), pd.Timestamp("2020-06-01")]
    assert figures.cluster_milestones(dates, ("2015-01-01", "2025-01-01")) == [[0, 1], [2]]
    assert figures.cluster_milestones(dates, ("2020-01-01", "2021-01-01")) == [[0], [1], [2]]
    assert figures.cluster_milestones([], None) == []
    shuffled = [dates[2], dates[0], dates[1]]  # groups are by date, whatever the input order
    assert figures.cluster_milestones(shuffled, ("2015-01-01", "2025-01-01")) == [[1, 2], [0]]


def test_shapes_at_each_milestone_date_in_its_category_colour(milestones):
    fig = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y")
    shapes = fig.layout.shapes
    assert len(shapes) == len(milestones)
    assert sorted(pd.Timestamp(s.x0) for s in shapes) == sorted(pd.Timestamp(d) for d in milestones["date"])
    colour = {pd.Timestamp(d): figures._category_color(c, 0.45) for d, c in zip(milestones["date"], milestones["category"])}
    for s in shapes:
        assert s.x0 == s.x1 and s.yref == "paper" and (s.y0, s.y1) == (0, 1)
        assert s.line.color == colour[pd.Timestamp(s.x0)] and s.line.dash == "dot"


def test_highlighted_milestone_drawn_differently(milestones):
    hl = milestones.iloc[3]
    number = store.milestone_numbers()[hl["id"]]
    fig = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y", highlight=hl["id"],
                                 x_range=WIDE)
    hl_shapes = [s for s in fig.layout.shapes if s.line.color == HIGHLIGHT_COLOR]
    assert len(hl_shapes) == 1
    assert pd.Timestamp(hl_shapes[0].x0) == pd.Timestamp(hl["date"])
    other = next(s for s in fig.layout.shapes if s.line.color != HIGHLIGHT_COLOR)
    assert hl_shapes[0].line.width > other.line.width
    assert hl_shapes[0].line.dash != other.line.dash
    red = [(t, i) for t in marker_traces(fig) for i, c in enumerate(t.marker.color) if c == HIGHLIGHT_COLOR]
    assert len(red) == 1
    trace, i = red[0]
    assert trace.marker.size[i] > min(s for t in marker_traces(fig) for s in t.marker.size)
    assert f"<b>{number} · {figures.shorten(hl['title_en'], figures.HIGHLIGHT_LABEL_WIDTH)}</b>" in \
        [a.text for a in fig.layout.annotations]


def test_a_long_highlighted_name_is_shortened_and_kept_on_the_chart():
    """Real milestone names: "Detienen en Los Ángeles al exsecretario de Defensa Cienfuegos" ran off a phone."""
    assert figures.shorten("Detienen en Los Ángeles al exsecretario de Defensa Cienfuegos", 32) == \
        "Detienen en Los Ángeles al…"
    assert figures.shorten("Mérida Initiative announced", 32) == "Mérida Initiative announced"
    x_range = ("2015-01-01", "2026-01-01")
    assert [figures.label_anchor(d, x_range) for d in ("2016-01-01", "2020-06-01", "2025-01-01")] == \
        ["left", "center", "right"]


def test_unknown_highlight_highlights_nothing(milestones):
    fig = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="y", highlight="nope")
    assert not [s for s in fig.layout.shapes if s.line.color == HIGHLIGHT_COLOR]
    assert HIGHLIGHT_COLOR not in [c for t in marker_traces(fig) for c in t.marker.color]


@pytest.mark.parametrize("flag", ["provisional", "fytd"])
def test_flagged_tail_is_a_dashed_segment(flag):
    synthetic_flags = [None] * 20 + [flag] * 4
    line = synthetic_line(flags=synthetic_flags)
    fig = figures.timeline_panel([line], pd.DataFrame(), title="T", y_label="y", text=EN)
    solid, dashed = data_traces(fig, line)
    assert solid.line.dash == "solid" and dashed.line.dash == figures.FLAGGED_DASH
    assert EN.flag(flag) == label(vocabulary.flags()[flag], "en")
    assert dashed.name == f"{line.name} ({EN.flag(flag)})"
    assert solid.line.color == dashed.line.color
    assert pd.Timestamp(dashed.x[-1]) == pd.Timestamp("2020-12-01")
    # every flagged point is on the dashed trace
    assert {pd.Timestamp(x) for x in pd.date_range("2020-09-01", periods=4, freq="MS")} <= \
        {pd.Timestamp(x) for x in dashed.x}


def test_solid_and_dashed_share_exactly_the_joining_point():
    line = synthetic_line(flags=[None] * 20 + ["provisional"] * 4)
    fig = figures.timeline_panel([line], pd.DataFrame(), title="T", y_label="y")
    solid, dashed = data_traces(fig, line)
    assert len(solid.x) == 20  # all final points, ending at the last final one (2020-08)
    assert len(dashed.x) == 5  # the joining point plus the four flagged ones
    assert pd.Timestamp(solid.x[-1]) == pd.Timestamp(dashed.x[0]) == pd.Timestamp("2020-08-01")


def test_all_flagged_is_one_dashed_trace_in_legend():
    line = synthetic_line(n=6, flags=["provisional"] * 6)
    fig = figures.timeline_panel([line], pd.DataFrame(), title="T", y_label="y")
    drawn = data_traces(fig, line)
    assert len(drawn) == 1
    assert drawn[0].line.dash == figures.FLAGGED_DASH and drawn[0].showlegend is True


def test_unflagged_is_one_solid_trace_and_no_flag_legend():
    fig = figures.timeline_panel([synthetic_line()], pd.DataFrame(), title="T", y_label="y", text=EN)
    assert len(fig.data) == 1 and fig.data[0].line.dash == "solid" and len(fig.data[0].y) == 24


@pytest.mark.parametrize("lang", ["en", "es"])
def test_flag_legend_entries_say_what_dashed_and_dotted_mean(lang):
    text = FigureText.for_lang(lang)
    flagged = synthetic_line(flags=[None] * 20 + ["provisional"] * 4)
    predicted = synthetic_line(name="Predicted series", dash="dot")
    fig = figures.timeline_panel([flagged, predicted], pd.DataFrame(), title="T", y_label="y", text=text)
    legend = {t.name: t for t in fig.data if t.legendgroup and t.legendgroup.startswith("flag-")}
    want = {label(vocabulary.flags()[f], lang): f for f in ("provisional", "predicted")}
    assert set(legend) == set(want)
    for name, t in legend.items():
        assert t.showlegend is True and list(t.x) == [None]  # legend only, nothing drawn
        assert t.line.dash == ("dot" if want[name] == "predicted" else figures.FLAGGED_DASH)
    fytd = figures.timeline_panel([synthetic_line(flags=[None] * 23 + ["fytd"])], pd.DataFrame(), title="T",
                                  y_label="y", text=text)
    assert [t.name for t in fytd.data if t.legendgroup == "flag-fytd"] == [label(vocabulary.flags()["fytd"], lang)]


def test_series_break_is_drawn_with_its_label():
    fig = figures.timeline_panel([synthetic_line()], pd.DataFrame(), title="T", y_label="y",
                                 breaks=[("2020-06-01", "New catalogue")])
    (shape,) = fig.layout.shapes
    assert pd.Timestamp(shape.x0) == pd.Timestamp(shape.x1) == pd.Timestamp("2020-06-01")
    assert shape.line.dash == "longdash" and (shape.y0, shape.y1) == (0, 1)
    assert "⟂ New catalogue" in [a.text for a in fig.layout.annotations]


def test_unsmoothed_drawn_faint_behind():
    line = synthetic_line()
    line = Line(line.name, line.frame.assign(unsmoothed=line.frame["value"] * 2), line.color)
    fig = figures.timeline_panel([line], pd.DataFrame(), title="T", y_label="y", text=EN)
    raw = fig.data[0]
    assert raw.name.endswith("(raw)") and raw.opacity < 1 and raw.showlegend is False
    es = figures.timeline_panel([line], pd.DataFrame(), title="T", y_label="y", text=ES)
    assert es.data[0].name.endswith("(sin suavizar)")


def test_empty_message_and_no_traces():
    fig = figures.timeline_panel([], pd.DataFrame(), title="Nothing", y_label="y", message="No data for this selection")
    assert len(fig.data) == 0
    assert [a.text for a in fig.layout.annotations] == ["No data for this selection"]
    fig = figures.empty("Pick a state")
    assert fig.layout.annotations[0].text == "Pick a state"


def test_layout_range_log_title_and_source(milestones):
    fig = figures.timeline_panel([synthetic_line()], milestones, title="Deaths", y_label="deaths",
                                 x_range=("2019-01-01", "2020-12-01"), log=True, source_note="Source: CDC")
    assert fig.layout.title.text == "Deaths"
    assert fig.layout.title.subtitle.text == "Source: CDC"  # an exported image says where it comes from
    assert list(fig.layout.xaxis.range) == ["2019-01-01", "2020-12-01"]
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.minorloglabels == "complete"  # "20, 30", not "2, 3" between powers of ten
    assert fig.layout.yaxis.title.text == "deaths"


def test_figure_text_in_spanish_keeps_mexican_number_separators():
    assert ES.locale == "es" and ES.cluster == "{n} hitos" and ES.mixed == "hitos de varios tipos"
    fig = figures.timeline_spec([synthetic_line()], pd.DataFrame(), title="T", y_label="y", text=ES)
    assert fig["layout"]["separators"] == ".,"  # 34,569.5 in es-MX, as in English


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


def test_long_titles_and_source_lines_wrap_to_fit_a_phone_and_keep_ee_uu_together():
    title = "Lista de sanciones del Tesoro de EE. UU.: designaciones antinarcóticos vinculadas con México — México"
    source = "Fuente: CBP de EE. UU., instantánea 2026-06-12; INEGI microdatos (Gargiulo et al.), instantánea 2024-03-21"
    spec = figures.timeline_spec([synthetic_line()], pd.DataFrame(), title=title, y_label="y", source_note=source)
    name = spec["layout"]["title"]["text"].split("<br><span")[0]
    lines = name.split("<br>")
    assert len(lines) > 1 and all(len(line) <= figures.TITLE_WRAP for line in lines)
    assert " ".join(lines) == title.split(" — ")[0]  # nothing lost, no hyphen split
    sub = spec["layout"]["title"]["subtitle"]["text"].split("<br>")
    assert len(sub) > 1 and all(len(line) <= figures.SOURCE_WRAP for line in sub)
    assert not any(line.endswith("EE.") for line in lines + sub)
    # plotly's title automargin would push a three-line title off the figure: a set margin instead
    assert spec["layout"]["title"]["automargin"] is False and spec["layout"]["margin"]["t"] > 96
    short = figures.timeline_spec([synthetic_line()], pd.DataFrame(), title="Deaths", y_label="y")
    assert short["layout"]["title"]["text"] == "Deaths" and short["layout"]["title"]["automargin"] is True
    # What the page needs to re-wrap them to a wider chart (assets/fit_titles.js): the plain text,
    # EE. UU. held by a no-break space, and the lines and margin the phone wrapping cost.
    fit = spec["layout"]["meta"]["fit"]
    assert [p["text"] for p in fit["title"]] == [title.split(" — ")[0].replace("EE. UU.", "EE.\u00a0UU."), "México"]
    assert [p["lines"] for p in fit["title"]] == [len(lines), 1] and fit["source"]["lines"] == len(sub)
    margin = spec["layout"]["margin"]["t"]
    assert margin - fit["title_line"] * (len(lines) - 1) - fit["source_line"] * (len(sub) - 1) == fit["top_min"] == 96
    assert fit["top"] == margin  # what the page fits from, whatever margin its copy has by then


def test_long_y_axis_titles_wrap_to_fit_up_a_phones_plot(milestones):
    label = "por 100 mil habitantes al año (anualizada) (media de 12 meses)"  # the longest the views make
    fig = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label=label, text=EN)
    lines = fig.layout.yaxis.title.text.split("<br>")
    assert len(lines) == 3 and all(len(line) <= figures.YTITLE_WRAP for line in lines)
    assert " ".join(lines) == label
    short = figures.timeline_panel([synthetic_line()], milestones, title="T", y_label="deaths", text=EN)
    assert short.layout.yaxis.title.text == "deaths"


@pytest.mark.parametrize("when, anchor", [("2016-03-01", "left"), ("2026-01-01", "right")])
def test_a_break_label_runs_away_from_the_nearer_edge(when, anchor):
    """The incidence break (Jan 2026) sits near the right end: a left-anchored label ran off the chart."""
    fig = figures.timeline_panel([synthetic_line()], pd.DataFrame(), title="T", y_label="y",
                                 breaks=[(when, "New catalogue")], x_range=("2015-01-01", "2026-03-01"))
    (note,) = [a for a in fig.layout.annotations if a.text == "⟂ New catalogue"]
    assert note.xanchor == anchor


def test_log_axis_over_more_than_a_decade_ticks_at_one_two_five():
    """Synthetic known answers: 1..24 spans 24x, so ticks at 1, 2, 5 (every digit crowded a phone);
    10..20 spans 2x, so plotly's own ticks, every one labelled in full."""
    wide = figures.log_ticks([synthetic_line(24)])
    assert wide == {"minorloglabels": "complete", "dtick": "D2"}
    narrow = synthetic_line(11)
    narrow = Line(narrow.name, narrow.frame.assign(value=narrow.frame["value"] + 9), narrow.color)
    assert figures.log_ticks([narrow]) == {"minorloglabels": "complete"}
    fig = figures.timeline_panel([synthetic_line(24)], pd.DataFrame(), title="T", y_label="y", log=True)
    assert fig.layout.yaxis.dtick == "D2" and fig.layout.yaxis.tickformat == ",~g"
