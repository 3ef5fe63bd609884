"""Embed: one timeline chart for a news article's iframe.

``/embed?chart=<panel>&<the timeline's view parameters>`` renders that panel as the timeline would
(same state parser, same figure), with its title and source line; no navigation and no controls.
The chart, its source and a link to the full view fill the frame; the summary, the notes and a
milestone key follow, a scroll away.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import dash
from dash import dcc, html

from dashboard import cite, components, i18n, store, views
from dashboard.i18n import t
from dashboard.pages import home
from dashboard.registry import registry
from dashboard.state import to_query

dash.register_page(__name__, path="/embed", name="Embed", title=components.page_title("embed.page_title"))

EMBED_CONFIG = {**home.GRAPH_CONFIG, "displayModeBar": "hover"}


def layout(**query) -> html.Div:
    lang = components.page_lang(query)
    query = {**home.query_dict(query), "lang": lang}
    reg = registry()
    chart = str(query.pop("chart", "") or "")
    notices = []
    if chart not in reg.panels:
        if chart:
            notices.append(("notice.bad_param", {"param": "chart", "value": chart[:40], "default": "deaths"}))
        chart = reg.ordered()[0].key
    parsed = home.parse_url(urlencode(query))
    state = replace(parsed.state, panels=(chart,))
    panel = views.build_panel(reg.panels[chart], state)
    fig, notes = views.panel_figure(panel, state, views.x_range(state, [panel]))
    fig["layout"].update(height=None, autosize=True, margin={"l": 60, "r": 12, "t": 88, "b": 56})
    # A fixed distance from the frame's top, not 3% of its height: in a 440 px frame the title's
    # first line was cut. plotly's 'top' anchor leaves the first line's ascent above the point, and
    # each further source line (two sources: two lines) lifts the block by about two lines more.
    source_lines = fig["layout"]["title"]["subtitle"]["text"].count("<br>")
    fig["layout"]["title"].update(y=1, pad={"t": 20 + 26 * source_lines})
    fig["layout"]["margin"]["t"] += 26 * source_lines
    # That rule is the embed's own, not the one the page re-wraps titles with: wrapped for a phone
    # they stay (an article's column is seldom much wider).
    fig["layout"]["meta"].pop("fit", None)
    order = [p.key for p in reg.ordered()]
    full = replace(state, panels=tuple(sorted({*parsed.state.panels, chart}, key=order.index)))
    full_href = cite.base_url() + "/" + to_query(full, reg)
    numbers = store.milestone_numbers()
    ms = store.milestones()
    ms = ms[ms["category"].isin(state.cats)].sort_values("date")
    return html.Div([
        html.H1(panel.title, className="sr-only"),  # the chart's own title shows it
        components.notices(parsed.notices + notices, "warning", lang),
        # The frame's height but for the link line under it: the chart and its link are what the
        # article's reader sees; the summary, notes and key follow and the frame scrolls to them.
        # Squeezed in with them, they left a 16:11 frame (640 x 440, what the embed code makes) a
        # 26 px plot. Inline: dcc.Graph's own inline height of 100% would win over the stylesheet.
        dcc.Graph(id="embed-fig", figure=fig, className="embed-graph", responsive=True,
                  style={"height": "max(260px, 100vh - 28px)"},
                  config={**EMBED_CONFIG, "locale": i18n.PLOTLY_LOCALES[lang],
                          "toImageButtonOptions": {"format": "png", "filename": f"xborder-{chart}", "scale": 2}}),
        # The source is the chart's own subtitle (it goes with the chart into a screenshot or an
        # exported image); said again here, it took a line of the frame and read twice.
        html.Div([
            html.A(t("embed.open_full", lang), href=full_href, target="_blank", rel="noopener", className="embed-open"),
        ], className="embed-foot"),
        html.P(views.text_summary(panel), className="chart-summary"),
        # The timeline's notes too: without them an embed drew pounds under a per-100k link, or
        # overdose lines stopping in 2024, and said nothing.
        html.Div(components.notices(notes, lang=lang), className="embed-notes") if notes else None,
        html.Details([
            html.Summary(t("embed.key", lang)),
            html.Ol([html.Li(f"{numbers.get(m.id, '')} · {i18n.day(m.date, lang)} · "
                             f"{m.title_es if lang == 'es' else m.title_en}", value=numbers.get(m.id))
                     for m in ms.itertuples()], className="embed-key"),
        ], className="embed-key-box"),
    ], className="embed", lang=lang)
