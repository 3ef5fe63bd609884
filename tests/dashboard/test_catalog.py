"""The message catalogs: every key in both languages, the same placeholders on both sides, every
message formattable, and every key the code asks for by name present."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from dashboard import i18n

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = sorted(p.stem for p in (i18n.LOCALE_DIR / "en" / "LC_MESSAGES").glob("*.po"))
# t("some.key", ...) with a literal key; keys built at run time (f-strings) are not checked here
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']""")


def messages(lang: str, domain: str) -> dict[str, str]:
    path = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: every domain needs both languages"
    with path.open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id}


PLOTLY_TEMPLATE = re.compile(r"%\{[^}]*\}")  # plotly's own %{x:.0f} in a hover template, not a catalog placeholder


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(PLOTLY_TEMPLATE.sub("", text)) if name is not None}


def test_there_are_catalogs():
    assert {"common", "maps", "revisions", "sources"} <= set(DOMAINS)
    assert sorted(p.stem for p in (i18n.LOCALE_DIR / "es" / "LC_MESSAGES").glob("*.po")) == DOMAINS


@pytest.mark.parametrize("domain", DOMAINS)
def test_same_keys_in_english_and_spanish(domain):
    en, es = messages("en", domain), messages("es", domain)
    assert sorted(set(en) - set(es)) == [], f"{domain}.po: keys with no Spanish message"
    assert sorted(set(es) - set(en)) == [], f"{domain}.po: keys with no English message"
    assert [k for k, v in en.items() if not v] == [] and [k for k, v in es.items() if not v] == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_same_placeholders_in_both_languages(domain):
    en, es = messages("en", domain), messages("es", domain)
    differ = {k: (sorted(placeholders(en[k])), sorted(placeholders(es[k]))) for k in en.keys() & es.keys()
              if placeholders(en[k]) != placeholders(es[k])}
    assert differ == {}, f"{domain}.po: placeholders differ (en, es)"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_percentages_in_messages_are_written_as_the_number_formatter_writes_them(lang):
    """A page mixed "95 %" (a message) with "+10.9%" (i18n.percent): one convention per language,
    the locale's own (es-MX, like en-US, has no space before the sign)."""
    sign = i18n.percent(0.5, lang).removeprefix("50")
    written = {k: v for k, v in i18n.catalog(lang).items()
               for m in re.finditer(r"\d([\s\u00a0]*)%(?!\{)", v) if m.group(1) + "%" != sign}
    assert written == {}


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_message_formats_with_its_placeholders(lang):
    for key, text in i18n.catalog(lang).items():
        if PLOTLY_TEMPLATE.search(text) and not placeholders(text):
            continue  # a plotly hover template, used as it stands (t() formats only with parameters)
        params = {name: "x" for name in placeholders(text)}
        i18n.t(key, lang, **params)  # a stray brace or a positional {} would raise here


def test_catalog_loader_refuses_a_key_defined_twice(tmp_path, monkeypatch):
    """Synthetic catalog: the same key in two domain files is an error naming the file and key."""
    for lang in i18n.LANGS:
        d = tmp_path / lang / "LC_MESSAGES"
        d.mkdir(parents=True)
        for name in ("a", "b"):
            (d / f"{name}.po").write_text('msgid "x.dup"\nmsgstr "text"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.catalog.cache_clear()
    try:
        with pytest.raises(i18n.CatalogError, match="x.dup"):
            i18n.catalog("en")
    finally:
        monkeypatch.undo()
        i18n.catalog.cache_clear()


CODE = sorted(p for p in (ROOT / "dashboard").rglob("*.py"))


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_keys_named_in_the_code_exist(path):
    used = set(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    missing = {lang: sorted(k for k in used if not i18n.has(k, lang)) for lang in i18n.LANGS}
    assert missing == {lang: [] for lang in i18n.LANGS}, f"{path.name} asks for keys no catalog has"
