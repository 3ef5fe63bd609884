"""SESNSP federal crimes (fuero federal, reported by the FGR), monthly by state from January 2012.

SESNSP republishes the whole 2012–present table every month on its datos abiertos page, wide
(one column per month), upper-case, latin-1: ``AÑO, INEGI, ENTIDAD, LEY, CONCEPTO, TIPO, ENERO …
DICIEMBRE``. ``fetch`` finds the current file's link on that page (CSV or xlsx). ``transform``
makes one series per (CONCEPTO, TIPO) row of the publisher's catalogue plus the totals below;
states are joined by INEGI code, and ``MX`` is the sum of the 32 states. The 33rd entity,
``EXTRANJERO`` (abroad, no INEGI code), is left out of the table and of MX. Months after the
cut-off are empty in the file and produce no row. SESNSP marks no month as suppressed, so a
blank cell anywhere is "not published": the state-month is dropped, a total is written only when
all its rows are there, and MX only for months in which all 32 states have a value (a partial
sum would read as a fall).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pandas as pd

from etl.errors import FetchError, ParseError
from etl.reference import iso_by_agency_code

SOURCE_ID = "sesnsp_federal"
LANDING_URL = "https://www.gob.mx/sesnsp/acciones-y-programas/datos-abiertos-de-incidencia-delictiva"
# The file's name carries the cut-off and changes monthly (Incidencia_del_fuero_federal_2012-2026_mar2026.xlsx,
# Fuero_federal_2012-2026_feb2026.xlsx, ...), so fetch looks for it on the landing page.
LINK_RE = re.compile(r"""href=["']([^"']*fuero_federal[^"']*\.(?:csv|xlsx))["']""", re.IGNORECASE)

# (CONCEPTO, TIPO) as SESNSP writes them -> series suffix. Every row of the catalogue is a series;
# a row not listed here is a catalogue change and fails the build (it must be named, not guessed).
ROWS = {
    ("CONTRA LA SALUD", "PRODUCCION"): "contra_salud_produccion",
    ("CONTRA LA SALUD", "TRANSPORTE"): "contra_salud_transporte",
    ("CONTRA LA SALUD", "TRAFICO"): "contra_salud_trafico",
    ("CONTRA LA SALUD", "COMERCIO"): "contra_salud_comercio",
    ("CONTRA LA SALUD", "SUMINISTRO"): "contra_salud_suministro",
    ("CONTRA LA SALUD", "POSESION"): "contra_salud_posesion",
    ("CONTRA LA SALUD", "OTROS"): "contra_salud_otros",
    ("OTROS DELITOS", "COMETIDOS POR SERVIDORES PUBLICOS"): "cpf_servidores_publicos",
    ("OTROS DELITOS", "CONTRA EL AMBIENTE Y LA GESTION AMBIENTAL"): "cpf_ambiente",
    ("OTROS DELITOS", "CONTRA LA INTEGRIDAD CORPORAL"): "cpf_integridad_corporal",
    ("OTROS DELITOS", "ELECTORALES"): "cpf_electorales",
    ("OTROS DELITOS", "EN MATERIA DE DERECHOS DE AUTOR"): "cpf_derechos_autor",
    ("OTROS DELITOS", "FALSEDAD, TITULO DECIMO TERCERO"): "cpf_falsedad",
    ("OTROS DELITOS", "PATRIMONIALES"): "cpf_patrimoniales",
    ("OTROS DELITOS", "VIAS DE COMUNICACION Y CORRESPONDENCIA"): "cpf_vias_comunicacion",
    ("OTROS DELITOS", "OTROS DELITOS DEL C.P.F."): "cpf_otros",
    ("OTRAS LEYES Y CODIGOS", "CODIGO FISCAL DE LA FEDERACION (C.F.F.)"): "cff",
    ("OTRAS LEYES Y CODIGOS", "LEY DE LA PROPIEDAD INDUSTRIAL (L.P.I.)"): "lpi",
    ("OTRAS LEYES Y CODIGOS", "LEY DE VIAS GENERALES DE COMUNICACION (L.V.G.C.)"): "lvgc",
    ("OTRAS LEYES Y CODIGOS", "LEY FEDERAL DEL DERECHO DE AUTOR (L.F.D.A.)"): "lfda",
    ("OTRAS LEYES Y CODIGOS", "LEY FEDERAL DE ARMAS DE FUEGO Y EXPLOSIVOS (L.F.A.F.E.)"): "lfafe",
    ("OTRAS LEYES Y CODIGOS", "LEY DE MIGRACION"): "ley_migracion",
    ("OTRAS LEYES Y CODIGOS", "LEYES DE INSTITUCIONES DE CREDITO, INVERSION, FIANZAS Y SEGUROS"): "leyes_financieras",
    ("OTRAS LEYES Y CODIGOS", "OTRAS LEYES ESPECIALES"): "otras_leyes_especiales",
    ("OTRAS LEYES Y CODIGOS", "LEY GENERAL EN MATERIA DE DELITOS ELECTORALES (L.G.M.D.E.)"): "lgmde",
    ("OTRAS LEYES Y CODIGOS",
     "LEY FEDERAL PARA PREVENIR Y SANCIONAR LOS DELITOS COMETIDOS EN MATERIA DE HIDROCARBUROS (L.F.P.S.D.C.M.H.)"):
        "hidrocarburos",
    ("LEY GENERAL DE SALUD (L.G.S.)", "CONTRA LA SALUD EN SU MODALIDAD DE NARCOMENUDEO"): "lgs_narcomenudeo",
    ("LEY GENERAL DE SALUD (L.G.S.)", "OTROS DELITOS PREVISTOS EN LA L.G.S."): "lgs_otros",
    ("LEY FEDERAL CONTRA LA DELINCUENCIA ORGANIZADA (L.F.C.D.O.)", "CONTRA LA SALUD"): "lfcdo_contra_salud",
    ("LEY FEDERAL CONTRA LA DELINCUENCIA ORGANIZADA (L.F.C.D.O.)", "OTROS DELITOS PREVISTOS EN LA L.F.C.D.O."):
        "lfcdo_otros",
}
# Rows SESNSP added to the catalogue later: absent (not blank) before this year.
FIRST_YEAR = {"lgmde": 2019, "hidrocarburos": 2019}
# Totals a reader asks for: suffix -> the rows it sums. A total is written only for state-months
# that have every one of its rows (of that year), so a file missing a row never gives a low total.
TOTALS = {
    "contra_salud": [s for s in ROWS.values() if s.startswith("contra_salud_")],
    "lfcdo": ["lfcdo_contra_salud", "lfcdo_otros"],
    "total": list(ROWS.values()),
}
ABROAD = "EXTRANJERO"  # SESNSP's 33rd entity: cases of crimes committed abroad; it has no INEGI code
COLUMNS = ["AÑO", "INEGI", "ENTIDAD", "CONCEPTO", "TIPO"]
MONTHS = {
    "ENERO": 1, "FEBRERO": 2, "MARZO": 3, "ABRIL": 4, "MAYO": 5, "JUNIO": 6, "JULIO": 7,
    "AGOSTO": 8, "SEPTIEMBRE": 9, "OCTUBRE": 10, "NOVIEMBRE": 11, "DICIEMBRE": 12,
}
N_STATES = 32


def fetch(ctx) -> list:
    page = ctx.http.get(LANDING_URL, source_id=SOURCE_ID, name="datos-abiertos.html", allow_html=True)
    match = LINK_RE.search(page.content.decode("utf-8", errors="replace"))
    if not match:
        raise FetchError("no link to the fuero federal file (…fuero_federal….csv or .xlsx) on the datos abiertos page",
                         source_id=SOURCE_ID, url=page.url)
    url = urljoin(page.url, match.group(1))
    name = urlparse(url).path.rsplit("/", 1)[-1]
    same = next((f for f in (ctx.previous.files if ctx.previous else []) if f.get("url") == url), {})
    return [ctx.http.get(url, source_id=SOURCE_ID, name=name,
                         etag=same.get("etag"), last_modified=same.get("last_modified"))]


def transform(snapshot) -> pd.DataFrame:
    entry = snapshot.files[0]
    name, url = entry["name"], entry.get("url")
    cells = _read(snapshot.path(name), name, url)
    rows = _by_state(cells, name, url)
    return _with_totals_and_national(rows)


def _read(path: Path, name: str, url: str | None) -> pd.DataFrame:
    """The wide file (CSV in latin-1 or UTF-8, optionally compressed, or xlsx) as text cells."""
    try:
        if ".xls" in path.name.lower():
            df = pd.read_excel(path, dtype=str)
        else:
            try:
                df = pd.read_csv(path, dtype=str, encoding="utf-8", keep_default_na=False)
            except UnicodeDecodeError:
                df = pd.read_csv(path, dtype=str, encoding="latin-1", keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError, EOFError, ValueError) as exc:
        raise ParseError(f"{name}: unreadable or empty ({exc})", source_id=SOURCE_ID, url=url) from exc
    df.columns = [str(c).strip().upper() for c in df.columns]
    missing = [c for c in [*COLUMNS, *MONTHS] if c not in df.columns]
    if missing:
        raise ParseError(f"{name}: missing column(s) {missing}; found {list(df.columns)}", source_id=SOURCE_ID, url=url)
    df = df[[*COLUMNS, *MONTHS]].fillna("")
    if df.empty:
        raise ParseError(f"{name}: no rows", source_id=SOURCE_ID, url=url)
    for c in ("INEGI", "ENTIDAD", "CONCEPTO", "TIPO"):
        df[c] = df[c].str.strip()
    return df


def _by_state(df: pd.DataFrame, name: str, url: str | None) -> pd.DataFrame:
    """Long rows (suffix, geo, date, value) for the 32 states; abroad and blank months dropped."""
    unknown = sorted(set(zip(df["CONCEPTO"], df["TIPO"])) - set(ROWS))
    if unknown:
        raise ParseError(f"{name}: (CONCEPTO, TIPO) not in the catalogue mapping: {unknown[:5]}",
                         source_id=SOURCE_ID, url=url)
    no_code = df["INEGI"] == ""
    nameless = sorted(set(df.loc[no_code & (df["ENTIDAD"].str.upper() != ABROAD), "ENTIDAD"]))
    if nameless:
        raise ParseError(f"{name}: rows without an INEGI state code that are not {ABROAD}: {nameless}",
                         source_id=SOURCE_ID, url=url)
    df = df[~no_code]
    iso = iso_by_agency_code("MX")
    codes = df["INEGI"].str.replace(r"\.0$", "", regex=True).str.zfill(2)  # 1, 01 and 1.0 (xlsx) alike
    bad = sorted(set(codes) - set(iso))
    if bad:
        raise ParseError(f"{name}: unknown INEGI state code(s) {bad}", source_id=SOURCE_ID, url=url)
    years = pd.to_numeric(df["AÑO"], errors="coerce")
    if years.isna().any():
        raise ParseError(f"{name}: non-numeric AÑO {df.loc[years.isna(), 'AÑO'].iloc[0]!r}", source_id=SOURCE_ID, url=url)
    keyed = pd.DataFrame({
        "suffix": [ROWS[k] for k in zip(df["CONCEPTO"], df["TIPO"])], "geo": codes.map(iso).to_numpy(),
        "year": years.astype(int).to_numpy(), **{m: df[m].str.strip().str.replace(",", "").to_numpy() for m in MONTHS},
    })
    long = keyed.melt(id_vars=["suffix", "geo", "year"], var_name="month", value_name="cases")
    long = long[long["cases"] != ""]  # after the cut-off, or not published: missing, not zero
    cases = pd.to_numeric(long["cases"], errors="coerce")
    if cases.isna().any():
        raise ParseError(f"{name}: non-numeric case count {long.loc[cases.isna(), 'cases'].iloc[0]!r}",
                         source_id=SOURCE_ID, url=url)
    dates = pd.to_datetime({"year": long["year"], "month": long["month"].map(MONTHS), "day": 1})
    out = pd.DataFrame({"suffix": long["suffix"], "geo": long["geo"], "date": dates, "value": cases.astype(float)})
    if out.duplicated(["suffix", "geo", "date"]).any():
        raise ParseError(f"{name}: a state has the same crime row twice in one year", source_id=SOURCE_ID, url=url)
    return out


def _with_totals_and_national(rows: pd.DataFrame) -> pd.DataFrame:
    totals = [_total(rows[rows["suffix"].isin(members)], members, suffix) for suffix, members in TOTALS.items()]
    states = pd.concat([rows, *totals], ignore_index=True)
    national = states.groupby(["suffix", "date"], as_index=False).agg(value=("value", "sum"), n=("geo", "nunique"))
    national = national[national["n"] == N_STATES].drop(columns="n").assign(geo="MX")
    out = pd.concat([states, national], ignore_index=True)
    return pd.DataFrame({
        "series_id": SOURCE_ID + "." + out["suffix"], "geo": out["geo"], "date": out["date"],
        "value": out["value"], "unit": "cases", "source_id": SOURCE_ID, "flag": None,
    })


def _total(rows: pd.DataFrame, members: list[str], suffix: str) -> pd.DataFrame:
    """Sum of ``members`` per state and month, where none of them is blank or absent that month."""
    g = rows.groupby(["geo", "date"], as_index=False).agg(value=("value", "sum"), n=("suffix", "nunique"))
    expected = {y: sum(FIRST_YEAR.get(m, 0) <= y for m in members) for y in g["date"].dt.year.unique()}
    return g.loc[g["n"] == g["date"].dt.year.map(expected), ["geo", "date", "value"]].assign(suffix=suffix)
