"""Every page with ?lang=es in headless Chromium: no English interface text from the catalog is
visible (body text, SVG text of the charts, aria-label, title, placeholder, document title).

Text marked lang="en" is skipped: metadata with no Spanish version yet (a definition, a
publisher's license) is shown in English on purpose and marked so screen readers read it as
English. Proper nouns and publisher names that are the same in both languages are excepted below.
"""

from __future__ import annotations

import re

import pytest

from dashboard import i18n

from browser_util import PAGES, goto_settled, open_page

pytestmark = pytest.mark.browser

# Words that are the same in English and Spanish (names of publishers, programmes, formats):
# a catalog fragment made only of these is not evidence of an untranslated string.
SAME_IN_BOTH = {"CDC", "NCHS", "VSRR", "INEGI", "SESNSP", "CONAPO", "CBP", "FGR", "DEA", "NFLIS", "UNODC", "OFAC",
                "SDN", "ICD", "PNG", "SVG", "CSV", "Parquet", "ITS", "HAC", "PELT", "Newey", "West", "URL", "id",
                "Census", "PEP", "VSRR", "LFAFE", "LFCDO", "Python"}
# Catalog keys whose English text may appear on a Spanish page: the language switch names its
# target language in that language.
EXCEPT_KEYS = {"lang.switch_title"}
MIN_LETTERS = 4        # a one-word label ("Year") counts from 4 letters...
MIN_PHRASE_LETTERS = 8  # ...a phrase from 8 ("from the", "of a" say nothing about the language)

# Text a reader sees: visible text nodes (including the charts' SVG text) outside lang="en"
# elements, then the accessible names and hints in attributes, then the tab title.
JS_VISIBLE_TEXT = """() => {
    const out = [];
    const english = el => el && el.closest('[lang]') && el.closest('[lang]').getAttribute('lang').startsWith('en')
        && el.closest('[lang]') !== document.documentElement;
    const visible = el => { if (!el) return false; const s = getComputedStyle(el);
        if (s.visibility === 'hidden' || s.display === 'none') return false;
        if (el.closest('.sr-only')) return true;  // read by screen readers: counts
        return el.getClientRects().length > 0; };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement, text = n.textContent.trim();
        if (!text || !visible(el) || english(el) || el.closest('script, style, noscript, code')) continue;
        out.push(text);
    }
    for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
        if (english(el)) continue;
        for (const a of ['aria-label', 'title', 'placeholder', 'alt']) { const v = el.getAttribute(a); if (v) out.push(v); }
    }
    out.push(document.title);
    return out;
}"""


def fragments(text: str) -> list[str]:
    """The literal pieces of a message between its placeholders and markup, worth looking for."""
    text = re.sub(r"%\{[^}]*\}", "\n", text)          # plotly template fields
    text = re.sub(r"\{[^}]*\}|<[^>]+>", "\n", text)    # catalog placeholders, HTML tags
    out = []
    for piece in text.split("\n"):
        piece = piece.strip(" .,:;·—–-()[]'\"¿?¡!/|")
        words = re.findall(r"[A-Za-zÀ-ÿ]+", piece)
        letters = sum(len(w) for w in words)
        if letters < (MIN_LETTERS if len(words) == 1 else MIN_PHRASE_LETTERS) or all(w in SAME_IN_BOTH for w in words):
            continue
        out.append(piece)
    return out


def english_only_messages() -> dict[str, list[str]]:
    """key -> fragments of every English message that Spanish says differently."""
    en, es = i18n.catalog("en"), i18n.catalog("es")
    out = {}
    for key, text in en.items():
        if key in EXCEPT_KEYS or es.get(key, "").strip() == text.strip():
            continue
        spanish = set(fragments(es.get(key, "")))
        frags = [f for f in fragments(text) if f not in spanish]
        if frags:
            out[key] = frags
    return out


def found(fragment: str, texts: list[str]) -> str | None:
    """The visible text showing ``fragment``: a phrase anywhere as whole words (case-sensitive);
    a single word only as a whole label (a text node or attribute of its own, give or take
    punctuation), since many English words are Spanish ones too ("Series", "Total")."""
    if " " not in fragment:
        bare = fragment.strip()
        return next((t for t in texts if t.strip(" .,:;·—–-()[]▲▼'\"") == bare), None)
    pattern = re.compile(r"(?<![A-Za-zÀ-ÿ])" + re.escape(fragment) + r"(?![A-Za-zÀ-ÿ])")
    return next((t for t in texts if pattern.search(t)), None)


def test_fragments_are_the_literal_words_of_a_message():
    """Synthetic message: placeholders, markup and plotly fields split it; short bits are dropped."""
    assert fragments("<b>{name}</b><br>{rate} deaths per 100,000 residents per year") == \
        ["deaths per 100,000 residents per year"]
    assert fragments("{publisher} ({snapshot})") == []
    assert fragments("Download PNG") == ["Download PNG"]
    assert found("Year", ["Año", "Year 2020"]) is None and found("Year", ["Year:"]) == "Year:"
    assert found("Download PNG", ["Descargar PNG"]) is None and found("Download PNG", ["⤓ Download PNG"])


@pytest.mark.parametrize("path", PAGES)
def test_spanish_page_shows_no_english_interface_text(server, browser, path):
    with open_page(browser, locale="es-MX") as pg:
        goto_settled(pg, f"{server}{path}?lang=es")
        assert pg.evaluate("document.documentElement.lang") == "es"
        texts = pg.evaluate(JS_VISIBLE_TEXT)
    assert len(texts) > 20, texts  # the page drew something
    leaks = {}
    for key, frags in english_only_messages().items():
        for frag in frags:
            where = found(frag, texts)
            if where:
                leaks[key] = f"{frag!r} in {where[:120]!r}"
                break
    assert leaks == {}, f"{path}?lang=es shows English catalog text:\n" + "\n".join(f"  {k}: {v}" for k, v in leaks.items())
