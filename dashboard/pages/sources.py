"""Sources: every source and series, with definitions, caveats and the snapshot behind them, in
the reader's language (metadata without a Spanish text shows its English one, marked lang="en"
so a screen reader pronounces it as English)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import dash
import flask
from dash import html

from dashboard import components, store
from dashboard.i18n import month, number, pick, t
from etl import vocabulary
from etl.registry import all_sources

GENERAL_CAVEATS = ("cdc_12m", "sesnsp_inegi", "cbp_fiscal", "dashed")
LONG_TEXTS = {"definition", "caveats"}


def _title(**_path) -> str:
    """The <title>, in the language of the page URL (the referrer of the callback that asks)."""
    ref = parse_qs(urlparse(flask.request.referrer or "").query) if flask.has_request_context() else {}
    return t("sources.page_title", components.page_lang({"lang": ref.get("lang")}))


dash.register_page(__name__, path="/sources", name="Sources", title=_title)


def _text(obj, field: str, lang: str, tag=html.Span, **kw):
    """A metadata text in the reader's language; its English original, marked as English, when
    there is no translation."""
    text = pick(obj, field, lang)
    english = lang != "en" and not (obj.get(f"{field}_es") if isinstance(obj, dict) else getattr(obj, f"{field}_es", ""))
    if english and field in LONG_TEXTS:  # say why a long text is in English
        return tag([html.Span(text, lang="en"), " ", html.Span(t("sources.english_only", lang), className="fallback-note")],
                   **kw)
    return tag(text, lang="en" if english else None, **kw)


def _term(section: dict, key: str, lang: str) -> str:
    term = section.get(key)
    return pick(term, "label", lang) if term else key.replace("_", " ")


def _date(value, lang: str) -> str:
    return month(value, lang) if value else "—"


def _series_table(src, lang: str) -> html.Div:
    units, freqs = vocabulary.units(), vocabulary.frequencies()
    rows = [html.Tr([html.Td(html.Code(s.id)), _text(s, "title", lang, html.Td), html.Td(_term(units, s.unit, lang)),
                     html.Td(_term(freqs, s.frequency, lang)), _text(s, "definition", lang, html.Td),
                     _text(s, "caveats", lang, html.Td) if s.caveats else html.Td("")])
            for s in src.meta.series]
    head = [t(f"sources.col.{c}", lang) for c in ("id", "title", "unit", "frequency", "definition", "caveats")]
    return html.Details([
        html.Summary(t("sources.series_count", lang, n=str(len(rows)))),
        html.Div(html.Table([html.Caption(t("sources.series_caption", lang, source=pick(src.meta, "title", lang)),
                                          className="sr-only"),
                             html.Thead(html.Tr([html.Th(h, scope="col") for h in head])), html.Tbody(rows)],
                            className="sources-table"),
                 className="table-scroll", tabIndex=0, role="region",
                 **{"aria-label": t("sources.series_region", lang, source=pick(src.meta, "title", lang))}),
    ])


def _source_block(sid: str, src, entry: dict, attempt: dict, lang: str) -> html.Section:
    meta = src.meta
    english = "en" if lang != "en" else None  # citations are in English
    status = entry.get("status", "not_built")
    built = t("sources.built", lang, snapshot=entry.get("snapshot") or "—", rows=number(entry.get("rows") or 0, lang),
              first=_date(entry.get("date_min"), lang), last=_date(entry.get("date_max"), lang),
              fetched=(entry.get("fetched_at") or "—")[:10],
              status=t(f"sources.status.{status}", lang) if f"sources.status.{status}" in _STATUS_KEYS else status)
    return html.Section([
        _text(meta, "title", lang, html.H3, id=f"source-{sid}-title"),
        html.P([_text(meta, "publisher", lang, html.A, href=meta.landing_url, target="_blank", rel="noopener"),
                " · ", _text(meta, "license", lang), " · ",
                t("sources.cadence", lang, cadence=t(f"sources.cadence.{meta.cadence}", lang))], className="source-meta"),
        html.P([t("sources.download", lang), " ", html.A(html.Code(meta.download_url), href=meta.download_url,
                                                         target="_blank", rel="noopener")], className="source-meta"),
        html.P([built, " ", components.stale_badge(store.provenance(sid), lang)], className="source-meta"),
        html.P([t("sources.last_error", lang, at=attempt.get("at", "—")), " ",
                html.Span(attempt.get("error"), lang="en")], className="notice warning")
        if attempt.get("error") else None,
        html.P([html.Strong(t("sources.caveats", lang)), " ", _text(meta, "caveats", lang)], className="source-meta")
        if meta.caveats else None,
        html.P([t("sources.cite", lang), " ", html.Span(meta.citation, className="citation", lang=english)],
               className="lede"),
        _series_table(src, lang),
    ], className="panel", id=f"source-{sid}", **{"aria-labelledby": f"source-{sid}-title"})


_STATUS_KEYS = {f"sources.status.{s}" for s in ("ok", "not_modified", "fallback", "failed", "not_built")}


@components.data_guard
def layout(**query) -> html.Div:
    lang = components.page_lang(query)  # the page has no other parameter; others are ignored, as they always were
    cat = store.catalog()
    blocks = [_source_block(sid, src, cat["sources"].get(sid, {}), cat["attempts"].get(sid, {}), lang)
              for sid, src in sorted(all_sources().items())]
    return html.Div([
        html.H2(t("sources.heading", lang)),
        html.Ul([html.Li(t(f"sources.general.{k}", lang)) for k in GENERAL_CAVEATS],
                className="lede", id="charts"),
        html.Nav(html.Ul([html.Li(_text(src.meta, "title", lang, html.A, href=f"#source-{sid}"))
                          for sid, src in sorted(all_sources().items())], className="source-index"),
                 **{"aria-label": t("sources.index", lang)}),
        *blocks,
    ], lang=lang)
