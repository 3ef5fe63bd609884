"""Every string a reader sees, in English and Spanish (es-MX), and the locale's number and date formats.

Messages live in keyed gettext catalogs, one pair per page or domain:
``dashboard/locale/<lang>/LC_MESSAGES/<domain>.po``, where ``msgid`` is a dotted key
(``impact.verdict.none``) and ``msgstr`` the text, with ``{name}`` placeholders. Babel reads the
catalogs and formats numbers and dates; the code holds keys, never sentences.

``t(key, lang, **params)`` formats numbers (int, float) and dates passed as parameters in the
reader's locale, so callers never build ``f"{x:,.0f}"`` themselves.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from pathlib import Path

import pandas as pd
from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

LOCALE_DIR = Path(__file__).parent / "locale"
LANGS = ("en", "es")
DEFAULT_LANG = "en"
# Babel locale per UI language: Mexican Spanish keeps 34,569 and 1.5 (not 34.569 / 1,5).
BABEL_LOCALES = {"en": "en_US", "es": "es_MX"}
# plotly.js locale names (the es bundle is loaded by the app).
PLOTLY_LOCALES = {"en": "en", "es": "es-MX"}  # es-MX: assets/plotly-locale-es-mx.js


class CatalogError(ValueError):
    pass


def lang_or_default(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """Every key -> message for one language, merged over its domain files."""
    out: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            cat = read_po(fh, locale=BABEL_LOCALES[lang])
        for msg in cat:
            if not msg.id:
                continue
            if msg.id in out:
                raise CatalogError(f"{path.name}: key {msg.id!r} is defined twice for {lang!r}")
            if not msg.string:
                raise CatalogError(f"{path.name}: key {msg.id!r} has no text for {lang!r}")
            out[msg.id] = msg.string
    return out


def has(key: str, lang: str = DEFAULT_LANG) -> bool:
    return key in catalog(lang_or_default(lang))


def t(key: str, lang: str = DEFAULT_LANG, /, **params) -> str:
    """The message for ``key`` in ``lang`` (falling back to English, then to the key itself, so a
    missing translation shows up instead of crashing a page), with its parameters formatted."""
    lang = lang_or_default(lang)
    text = catalog(lang).get(key) or catalog(DEFAULT_LANG).get(key) or key
    if not params:
        return text
    return text.format(**{k: _fmt(v, lang) for k, v in params.items()})


def _fmt(value, lang: str):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(value, lang)
    if isinstance(value, (dt.date, pd.Timestamp)):
        return month(value, lang)
    return value


def _finite(value) -> bool:
    # Babel cannot quantize inf (decimal.InvalidOperation): an interval's bound of exp(205) was a 500.
    return value is not None and math.isfinite(value)


def number(value: float, lang: str = DEFAULT_LANG, digits: int | None = None) -> str:
    """A readable number in the locale: 34,569 / 1,234.5 / 0.42; ``digits`` fixes the decimals.
    No number (None, NaN, an infinite estimate) is a dash."""
    if not _finite(value):
        return "—"
    loc = BABEL_LOCALES[lang_or_default(lang)]
    if digits is None:
        a = abs(value)
        digits = 0 if a >= 1000 or float(value).is_integer() else 1 if a >= 10 else 2
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=loc)


def shared_digits(values) -> int:
    """The decimals ``number`` would give the largest of ``values``, for all of them: numbers read
    together (a range, before and after) keep one precision ("882" beside "1,261", not "882.2")."""
    finite = [abs(float(v)) for v in values if _finite(v)]
    if not finite or all(v.is_integer() for v in finite):
        return 0
    a = max(finite)
    return 0 if a >= 1000 else 1 if a >= 10 else 2


def percent(value: float, lang: str = DEFAULT_LANG, digits: int = 0) -> str:
    """0.55 -> "55%", in en-US and es-MX alike (CLDR writes es-MX without the space of es-ES)."""
    if not _finite(value):
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(value, format=pattern, locale=BABEL_LOCALES[lang_or_default(lang)])


def _signed(text: str, value: float) -> str:
    # The sign of what is shown: a change that rounds to 0 has none; a minus is a true minus.
    if text == "—" or not any(c in "123456789" for c in text):
        return text
    return ("+" if value > 0 else "−") + text


def signed_number(value: float, lang: str = DEFAULT_LANG, digits: int | None = None) -> str:
    """+1,269 / −12.5 / 0: a change's direction is part of its meaning."""
    return _signed(number(abs(value), lang, digits), value) if _finite(value) else "—"


def signed_percent(value: float, lang: str = DEFAULT_LANG, digits: int = 1) -> str:
    """0.019 -> +1.9% / −0.3%; 0.0% has no sign."""
    return _signed(percent(abs(value), lang, digits), value) if _finite(value) else "—"


def month(value, lang: str = DEFAULT_LANG) -> str:
    """Oct 2020 / oct 2020."""
    d = pd.Timestamp(value).date()
    return format_date(d, "MMM yyyy", locale=BABEL_LOCALES[lang_or_default(lang)]).replace(".", "")


def listing(items: list[str], lang: str = DEFAULT_LANG) -> str:
    """["A", "B", "C"] -> "A, B, and C" (en) / "A, B y C" (es-MX)."""
    return format_list(list(items), locale=BABEL_LOCALES[lang_or_default(lang)])


def day(value, lang: str = DEFAULT_LANG) -> str:
    """8 Oct 2021 / 8 oct 2021."""
    d = pd.Timestamp(value).date()
    return format_date(d, "d MMM yyyy", locale=BABEL_LOCALES[lang_or_default(lang)]).replace(".", "")


def language_name(lang: str, in_lang: str | None = None) -> str:
    """"Español" / "English", as the language calls itself unless ``in_lang`` is given."""
    name = Locale.parse(BABEL_LOCALES[lang]).get_language_name(BABEL_LOCALES[in_lang or lang])
    return name[:1].upper() + name[1:]


def pick(obj, field: str, lang: str) -> str:
    """A metadata object's Spanish text (``<field>_es``) where the reader reads Spanish and it
    exists; its English text otherwise."""
    if lang == "es":
        es = getattr(obj, f"{field}_es", "") if not isinstance(obj, dict) else obj.get(f"{field}_es", "")
        if es:
            return es
    return getattr(obj, field, "") if not isinstance(obj, dict) else obj.get(field, "")


def best_lang(accept_language: str | None) -> str:
    """The first visit's language from the browser's Accept-Language header."""
    best, best_q = DEFAULT_LANG, -1.0
    for part in (accept_language or "").split(",")[:20]:
        tag, _, q = part.strip().partition(";q=")
        code = tag.strip().lower()[:2]
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if code in LANGS and weight > best_q:
            best, best_q = code, weight
    return best
