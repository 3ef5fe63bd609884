"""Sources: every source and series, with definitions, caveats and the snapshot behind them, in
the reader's language (metadata without a Spanish text shows its English one, marked lang="en"
so a screen reader pronounces it as English)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import dash
import flask
from dash import html

from dashboard import components, store
from dashboard.i18n import day, has, listing, month, number, pick, t
from etl import vocabulary
from etl.registry import all_sources
from etl.metadata import STALE_FACTOR, stale_after

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


def _freshness(p: dict, lang: str) -> html.P | None:
    """How old the source's snapshot is against its release interval, with the stale badge when
    store.provenance says so: the reason of each badge, in words."""
    limit, cadence = stale_after(p["cadence_days"]), components.cadence_label(p["cadence"], lang)
    date = day(p["snapshot"][:10], lang)
    if limit is None:
        return html.P(t("sources.fresh.unscheduled", lang, cadence=cadence, date=date), className="source-meta")
    if not p["stale"]:
        return html.P(t("sources.fresh.current", lang, date=date, days=number(p["age_days"], lang),
                        limit=number(limit, lang), cadence=cadence), className="source-meta")
    # the reason beside the badge too, for screen readers and touch screens
    return html.P([components.stale_badge(p, lang), " ", components.stale_reason(p, lang)], className="source-meta")


def _built(entry: dict, lang: str) -> str:
    origin = "seed" if entry.get("snapshot_origin") == "seed" else "fetch"
    fetched = entry.get("fetched_at")
    return t("sources.built", lang, snapshot=entry.get("snapshot") or "—", rows=number(entry.get("rows") or 0, lang),
             first=_date(entry.get("date_min"), lang), last=_date(entry.get("date_max"), lang),
             origin=t(f"sources.origin.{origin}", lang, date=day(fetched[:10], lang) if fetched else "—"))


def _last_run(attempt: dict, lang: str) -> str:
    """What the last refresh attempt did, as the ETL records it (etl.pipeline.run_source)."""
    if not attempt:
        return t("sources.run.none", lang)
    mode, status = attempt.get("mode", ""), attempt.get("status", "")
    key = next((k for k in (f"sources.run.{mode}.{status}", f"sources.run.{status}") if has(k)), None)
    return t("sources.run", lang, date=day(attempt["at"][:10], lang) if attempt.get("at") else "—",
             what=t(key, lang) if key else status)


def _source_block(sid: str, src, entry: dict, attempt: dict, prov: dict, lang: str) -> html.Section:
    meta = src.meta
    english = "en" if lang != "en" else None  # citations are in English
    return html.Section([
        _text(meta, "title", lang, html.H3, id=f"source-{sid}-title"),
        html.P([_text(meta, "publisher", lang, html.A, href=meta.landing_url, target="_blank", rel="noopener"),
                " · ", _text(meta, "license", lang), " · ",
                t("sources.cadence", lang, cadence=components.cadence_label(meta.cadence, lang))], className="source-meta"),
        html.P([t("sources.download", lang), " ", html.A(html.Code(meta.download_url), href=meta.download_url,
                                                         target="_blank", rel="noopener")], className="source-meta"),
        html.P(_built(entry, lang), className="source-meta") if entry else None,
        _freshness(prov, lang) if entry.get("snapshot") else None,
        html.P(_last_run(attempt, lang), className="source-meta"),
        html.P([t("sources.last_error", lang, at=attempt.get("at", "—")), " ",
                html.Span(attempt.get("error"), lang="en")], className="notice warning")
        if attempt.get("error") else None,
        html.P([html.Strong(t("sources.caveats", lang)), " ", _text(meta, "caveats", lang)], className="source-meta")
        if meta.caveats else None,
        html.P([t("sources.cite", lang), " ", html.Span(meta.citation, className="citation", lang=english)],
               className="lede"),
        _series_table(src, lang),
    ], className="panel", id=f"source-{sid}", **{"aria-labelledby": f"source-{sid}-title"})


def stale_legend(cadences: dict[str, int | None], lang: str) -> html.Div:
    """What the stale badge means, with the age limit of each release interval the sources use
    (``cadences``: cadence -> days between releases, or None)."""
    timed = sorted((days, c) for c, days in cadences.items() if days)
    limits = [t("sources.legend.limit", lang, days=number(stale_after(days), lang),
                cadence=components.cadence_label(c, lang))
              for days, c in timed]
    never = sorted(components.cadence_label(c, lang) for c, days in cadences.items() if not days)
    rule = [components.badge(lang), " ", t("sources.legend.stale", lang, factor=number(STALE_FACTOR, lang, digits=1),
                                 limits=listing(limits, lang))]
    if never:
        rule += [" ", t("sources.legend.unscheduled", lang, cadences=listing(never, lang))]
    return html.Div([html.P(rule), html.P(t("sources.legend.meaning", lang))], className="lede", id="stale-legend")


@components.data_guard
def layout(**query) -> html.Div:
    lang = components.page_lang(query)  # the page has no other parameter; others are ignored, as they always were
    cat, sources = store.catalog(), sorted(all_sources().items())
    blocks = [_source_block(sid, src, cat["sources"].get(sid, {}), cat["attempts"].get(sid, {}),
                            store.provenance(sid), lang)
              for sid, src in sources]
    return html.Div([
        html.H2(t("sources.heading", lang)),
        stale_legend({src.meta.cadence: src.meta.cadence_days for _, src in sources}, lang),
        html.Ul([html.Li(t(f"sources.general.{k}", lang)) for k in GENERAL_CAVEATS],
                className="lede", id="charts"),
        html.Nav(html.Ul([html.Li(_text(src.meta, "title", lang, html.A, href=f"#source-{sid}"))
                          for sid, src in sources], className="source-index"),
                 **{"aria-label": t("sources.index", lang)}),
        *blocks,
    ], lang=lang)
