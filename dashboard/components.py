"""Small layout pieces shared by pages: provenance lines, notices, milestone list, cite block."""

from __future__ import annotations

import functools
import logging

import pandas as pd
from dash import ClientsideFunction, Input, Output, clientside_callback, html

from dashboard import i18n, store
from dashboard.i18n import t
from dashboard.registry import label
from etl import vocabulary
from etl.metadata import stale_after


def provenance_line(source_ids: list[str], lang: str = "en") -> html.Div:
    """Publisher, license, period, latest data month, snapshot and fetch dates, and a stale
    badge, per source."""
    items = []
    for sid in source_ids:
        p = store.provenance(sid)
        meta = store.sources_meta().get(sid, {})
        title = i18n.pick(meta, "title", lang) or p["title"]
        latest = _latest(sid, p.get("date_max"), lang)
        parts = [t("prov.line", lang, title=title, license=i18n.pick(meta, "license", lang) or p["license"],
                   period=p["period"], latest=latest,
                   snapshot=p["snapshot"])]
        if p["published_at"]:
            parts.append(t("prov.published", lang, date=p["published_at"]))
        parts.append(t("prov.seed" if p["origin"] == "seed" else "prov.fetched", lang, date=p["fetched_at"] or "—"))
        publisher = store.publisher(sid, lang)
        items.append(html.Div([
            html.A(publisher, href=p["landing_url"], target="_blank", rel="noopener",
                   lang="en" if lang != "en" and publisher == p["publisher"] else None),  # the English name
            " — " + " · ".join(parts),
            stale_badge(p, lang),
        ], className="prov-item"))
    return html.Div(items, className="provenance")


def _latest(source_id: str, date_max, lang: str) -> str:
    """The latest period of a source's data: a year for yearly data ("2030", where "Jan 2030"
    read as a month of data), else its month."""
    if not date_max:
        return "—"
    frequencies = {m.get("frequency") for m in store.series_meta().values() if m.get("source_id") == source_id}
    return str(pd.Timestamp(date_max).year) if frequencies == {"annual"} else i18n.month(date_max, lang)


def cadence_label(cadence: str, lang: str) -> str:
    key = f"sources.cadence.{cadence}"
    return t(key, lang) if i18n.has(key) else cadence


def stale_reason(p: dict, lang: str) -> str:
    """Why a source is stale, in words: its snapshot's date and age against the limit for its
    release interval (etl.metadata.stale_after)."""
    return t("sources.fresh.stale", lang, date=i18n.day(p["snapshot"][:10], lang), days=i18n.number(p["age_days"] or 0, lang),
             limit=i18n.number(stale_after(p.get("cadence_days")) or 0, lang), cadence=cadence_label(p["cadence"], lang))


def badge(lang: str, reason: str | None = None) -> html.Span:
    """The "stale" badge, with its reason as tooltip."""
    return html.Span(t("prov.stale", lang), className="badge stale", title=reason)


def stale_badge(p: dict, lang: str) -> html.Span | None:
    """The stale badge of a source's provenance (store.provenance), or None when it is fresh: one
    rule and one wording for every page that says how current a source is."""
    return badge(lang, stale_reason(p, lang)) if p["stale"] else None


DROPDOWN_LABELS = ("select_all", "deselect_all", "selected_count", "search", "clear_search", "clear_selection",
                   "no_options_found")


def dropdown_labels(lang: str) -> dict[str, str]:
    """The words Dash's dropdown shows by itself ("3 selected", "Search"...), in the reader's
    language: pass as ``dcc.Dropdown(labels=...)``."""
    return {k: t(f"dropdown.{k}", lang) for k in DROPDOWN_LABELS}


def word_notice(message, lang: str) -> str:
    """A notice is a catalog code ``(key, params)`` or an already worded string."""
    if isinstance(message, tuple):
        key, params = message
        return t(key, lang, **params)
    return str(message)


def notices(messages: list, kind: str = "info", lang: str = "en") -> html.Div:
    return html.Div([html.Div(word_notice(m, lang), className=f"notice {kind}", role="status")
                     for m in messages])


def milestone_list(ms: pd.DataFrame, categories: tuple[str, ...], highlight: str, lang: str = "en",
                   numbers: dict[str, int] | None = None) -> html.Ol:
    """The milestone key: the number each marker carries, its date, title, category and
    citation; the button highlights it on every panel."""
    cats = vocabulary.milestone_categories()
    items = []
    for m in ms[ms["category"].isin(categories)].sort_values("date").itertuples():
        num = (numbers or {}).get(m.id, "")
        title = m.title_es if lang == "es" else m.title_en
        items.append(html.Li([
            html.Span(str(num), className="ms-num", style={"backgroundColor": cats[m.category].color}
                      if m.category in cats else None, **{"aria-hidden": "true"}),
            html.Button(
                i18n.day(m.date, lang), id={"type": "ms-pick", "id": m.id}, n_clicks=0,
                className="ms-date" + (" active" if m.id == highlight else ""),
                title=t("milestones.highlight", lang), **{"aria-label": t("milestones.highlight_named", lang, n=num,
                                                                             title=title)},
            ),
            html.Span(f" {title} ", className="ms-title"),
            html.Span(label(cats[m.category], lang) if m.category in cats else m.category,
                      className=f"tag tag-{m.category}"),
            " ",
            html.A(t("milestones.source", lang), href=m.source_url, target="_blank", rel="noopener",
                   className="ms-cite"),
        ], className="ms-item", value=num if isinstance(num, int) else None))
    return html.Ol(items, className="ms-list")


NUMERIC_CELL_MAX = 24  # characters: "−48.4% to +138.2%" is a number; anything longer is prose


def frame_table(frame: pd.DataFrame, headers: dict[str, str], *, table_id: str, label: str,
                numeric: tuple[str, ...] = (), compact: bool = False) -> html.Div:
    """A frame of formatted values as a plain HTML table in a box that scrolls sideways on a phone:
    real <th scope> headers for screen readers, copyable text, and none of the data-table
    component's bundles (which Dash is dropping from its built-in components). ``label`` names the
    table and its scrolling box for screen readers (the heading above it, as a rule); a ``compact``
    table is as wide as its contents, not the page (two columns 1,200 px apart are hard to read)."""
    columns = [c for c in headers if c in frame.columns]

    def cell(column, value):
        if pd.isna(value):
            return html.Td("—", className="num" if column in numeric else None)
        # A number (or an interval) sits right and never breaks; a sentence in a numeric column
        # ("a step as large in 90% of them; rank 39 of 43") wraps, or a phone's table ran 900 px wide.
        short = len(str(value)) <= NUMERIC_CELL_MAX
        return html.Td(value, className=("num" if short else "num-text") if column in numeric else None)

    return html.Div(html.Table([
        html.Thead(html.Tr([html.Th(headers[c], scope="col", className="num" if c in numeric else None)
                            for c in columns])),
        html.Tbody([html.Tr([cell(c, row[c]) for c in columns]) for row in frame.to_dict("records")]),
    ], className="data-table frame-table" + (" compact" if compact else ""), id=table_id, **{"aria-label": label}), className="table-scroll", tabIndex=0,
        role="region", **{"aria-label": label})


def cite_block(citation: dict, snippet: str, lang: str = "en") -> html.Div:
    snaps = ", ".join(f"{k} {v}" for k, v in citation["snapshots"].items())
    return html.Div([
        html.P([t("cite.permalink", lang) + " ", html.A(citation["permalink"], href=citation["permalink"],
                                                        id="permalink")]),
        html.P(t("cite.version", lang, version=citation["version"], snapshots=snaps)),
        html.P(citation["text"], className="citation", id="citation-text"),
        html.P(t("cite.snippet_intro", lang)),
        html.Pre(html.Code(snippet), id="cite-snippet", className="snippet"),
    ])


def keep_url_in_step(store_id: str) -> None:
    """Register the callback that writes a page's query string (held in ``store_id``) to the
    address bar; see ``replaceQuery`` in assets/sync.js."""
    clientside_callback(ClientsideFunction("xborder", "replaceQuery"), Output(store_id, "id"), Input(store_id, "data"))


def data_guard(layout):
    """Wrap a page layout: when the data it needs is not built (or a snapshot is missing), show
    what to do instead of an error page."""
    @functools.wraps(layout)
    def wrapper(**query):
        lang = page_lang(query)
        try:
            return layout(**query)
        except (FileNotFoundError, LookupError) as exc:
            logging.getLogger(__name__).exception("page layout failed for lack of data")
            return html.Div([notices([t("notice.data_missing", lang, error=str(exc)[:200]),
                                      t("notice.data_missing_fix", lang)], "warning", lang)])
    return wrapper


def page_title(key: str):
    """A page's <title> in the reader's language, for ``dash.register_page(title=...)``: Dash
    calls it while serving the page (the language comes from its URL or the browser)."""
    def title(**_path_variables) -> str:
        from dashboard.app import request_lang

        return t(key, request_lang())
    return title


def page_lang(query: dict) -> str:
    """The reader's language for a page: ``?lang=`` when valid, else the browser's
    Accept-Language (first visit), else English."""
    lang = query.get("lang")
    if isinstance(lang, (list, tuple)):
        lang = lang[-1] if lang else None
    if lang in i18n.LANGS:
        return lang
    try:
        import flask

        return i18n.best_lang(flask.request.headers.get("Accept-Language"))
    except RuntimeError:  # outside a request (tests, notebooks)
        return i18n.DEFAULT_LANG
