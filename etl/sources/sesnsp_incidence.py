"""SESNSP crime incidence (fuero común): carpetas de investigación by state, month and crime.

SESNSP republishes the state file ``IDEFC_NM_<mes><aa>.csv`` every month on its datos abiertos
page (latin-1, wide: ``Año, Clave_Ent, Entidad, Bien jurídico afectado, Tipo de delito, Subtipo
de delito, Modalidad, Enero … Diciembre``). From 2026 SESNSP counts under a new crime catalogue
(new crimes, narcomenudeo, extortion and kidnapping split, attempts counted apart), so the two
catalogues are two series families that are never joined: ``sesnsp_incidence.<crime>`` (2015
catalogue, 2015–2025) and ``sesnsp_incidence.c2026_<crime>`` (2026 catalogue). A row's catalogue
is its year's (``CATALOGUE_FROM``); a crime that is not in that catalogue's mapping fails the
build rather than being guessed.

One series per ``Tipo de delito`` (every crime type the file has), plus one per ``Subtipo`` for
the types SESNSP splits (homicide, robbery, ...). Months after the cut-off are empty and produce
no row; SESNSP suppresses nothing, so any blank state-month is dropped, a type's total is written
only when none of its rows is blank, and MX (the sum of the 32 states, by INEGI code) only when
all 32 states have the month.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pandas as pd

from etl.errors import FetchError, NotModified, ParseError
from etl.http import RawFile
from etl.reference import iso_by_agency_code

SOURCE_ID = "sesnsp_incidence"
LANDING_URL = "https://www.gob.mx/sesnsp/acciones-y-programas/datos-abiertos-de-incidencia-delictiva"
# IDEFC = Incidencia Delictiva Estatal del Fuero Común (IDEFC_NM_nov24.csv, ...); the name moves monthly.
LINK_RE = re.compile(r"""href=["']([^"']*IDEFC[^"']*\.csv)["']""", re.IGNORECASE)

# Tipo de delito -> crime id. Ids are shared by the two catalogues where SESNSP kept the name.
TIPOS_2015 = {
    "Homicidio": "homicidio",
    "Lesiones": "lesiones",
    "Feminicidio": "feminicidio",
    "Aborto": "aborto",
    "Otros delitos que atentan contra la vida y la integridad corporal": "otros_vida_integridad",
    "Secuestro": "secuestro",
    "Tráfico de menores": "trafico_menores",
    "Rapto": "rapto",
    "Otros delitos que atentan contra la libertad personal": "otros_libertad_personal",
    "Abuso sexual": "abuso_sexual",
    "Acoso sexual": "acoso_sexual",
    "Hostigamiento sexual": "hostigamiento_sexual",
    "Violación simple": "violacion_simple",
    "Violación equiparada": "violacion_equiparada",
    "Incesto": "incesto",
    "Otros delitos que atentan contra la libertad y la seguridad sexual": "otros_libertad_sexual",
    "Robo": "robo",
    "Fraude": "fraude",
    "Abuso de confianza": "abuso_confianza",
    "Extorsión": "extorsion",
    "Daño a la propiedad": "dano_propiedad",
    "Despojo": "despojo",
    "Otros delitos contra el patrimonio": "otros_patrimonio",
    "Violencia familiar": "violencia_familiar",
    "Violencia de género en todas sus modalidades distinta a la violencia familiar": "violencia_genero",
    "Incumplimiento de obligaciones de asistencia familiar": "incumplimiento_asistencia_familiar",
    "Otros delitos contra la familia": "otros_familia",
    "Corrupción de menores": "corrupcion_menores",
    "Trata de personas": "trata_personas",
    "Otros delitos contra la sociedad": "otros_sociedad",
    "Narcomenudeo": "narcomenudeo",
    "Amenazas": "amenazas",
    "Allanamiento de morada": "allanamiento_morada",
    "Evasión de presos": "evasion_presos",
    "Falsedad": "falsedad",
    "Falsificación": "falsificacion",
    "Contra el medio ambiente": "medio_ambiente",
    "Delitos cometidos por servidores públicos": "servidores_publicos",
    "Electorales": "electorales",
    "Otros delitos del Fuero Común": "otros_fuero_comun",
}
# 2026: the two violación types become subtypes of one type; nine types are new.
TIPOS_2026 = {k: v for k, v in TIPOS_2015.items() if k not in {"Violación simple", "Violación equiparada"}} | {
    "Violación": "violacion",
    "Privación ilegal de la libertad": "privacion_libertad",
    "Retención o sustracción de menores e incapaces": "retencion_menores",
    "Violación a la intimidad sexual": "violacion_intimidad_sexual",
    "Pornografía infantil": "pornografia_infantil",
    "Discriminación": "discriminacion",
    "Delitos contra la administración de justicia": "administracion_justicia",
    "Suplantación y usurpación de identidad": "suplantacion_identidad",
    "Tortura": "tortura",
}
ROBO_2015 = {
    "Robo a casa habitación": "robo_casa_habitacion",
    "Robo de vehículo automotor": "robo_vehiculo",
    "Robo de autopartes": "robo_autopartes",
    "Robo a transportista": "robo_transportista",
    "Robo a transeúnte en vía pública": "robo_transeunte_via_publica",
    "Robo a transeúnte en espacio abierto al público": "robo_transeunte_espacio_abierto",
    "Robo en transporte público individual": "robo_transporte_publico_individual",
    "Robo en transporte público colectivo": "robo_transporte_publico_colectivo",
    "Robo en transporte individual": "robo_transporte_individual",
    "Robo a institución bancaria": "robo_institucion_bancaria",
    "Robo a negocio": "robo_negocio",
    "Robo de ganado": "robo_ganado",
    "Robo de maquinaria": "robo_maquinaria",
    "Otros robos": "otros_robos",
}
ROBO_2026 = {k: v for k, v in ROBO_2015.items() if k not in {"Robo de vehículo automotor", "Robo de maquinaria"}} | {
    "Robo de vehículo automotor - Coche de 4 ruedas": "robo_vehiculo_coche",
    "Robo de vehículo automotor - Motocicleta": "robo_vehiculo_motocicleta",
    "Robo de vehículo automotor - Embarcaciones": "robo_vehiculo_embarcaciones",
    "Robo de maquinaria - Herramienta industrial o agrícola": "robo_maquinaria_herramienta",
    "Robo de maquinaria - Tractores y/o montacargas": "robo_maquinaria_tractores",
    "Robo de maquinaria - Cables, tubos y otros objetos destinados a servicios públicos": "robo_maquinaria_cables",
}
# (Tipo, Subtipo) -> crime id, for the types SESNSP splits into several subtypes.
SUBTIPOS_2015 = {
    ("Homicidio", "Homicidio doloso"): "homicidio_doloso",
    ("Homicidio", "Homicidio culposo"): "homicidio_culposo",
    ("Lesiones", "Lesiones dolosas"): "lesiones_dolosas",
    ("Lesiones", "Lesiones culposas"): "lesiones_culposas",
    **{("Robo", k): v for k, v in ROBO_2015.items()},
}
SUBTIPOS_2026 = {
    ("Homicidio", "Homicidio doloso"): "homicidio_doloso",
    ("Homicidio", "Tentativa de homicidio doloso"): "tentativa_homicidio_doloso",
    ("Homicidio", "Homicidio culposo"): "homicidio_culposo",
    ("Lesiones", "Lesiones dolosas"): "lesiones_dolosas",
    ("Lesiones", "Lesiones culposas"): "lesiones_culposas",
    ("Feminicidio", "Feminicidio"): "feminicidio_consumado",
    ("Feminicidio", "Tentativa de feminicidio"): "tentativa_feminicidio",
    ("Secuestro", "Secuestro extorsivo"): "secuestro_extorsivo",
    ("Secuestro", "Secuestro con calidad de rehén"): "secuestro_rehen",
    ("Secuestro", "Secuestro para causar daño"): "secuestro_causar_dano",
    ("Secuestro", "Secuestro exprés"): "secuestro_expres",
    ("Violación", "Violación simple"): "violacion_simple",
    ("Violación", "Violación equiparada"): "violacion_equiparada",
    ("Extorsión", "Extorsión presencial"): "extorsion_presencial",
    ("Extorsión", "Tentativa de extorsión presencial"): "tentativa_extorsion_presencial",
    ("Extorsión", "Extorsión por otros medios"): "extorsion_otros_medios",
    ("Extorsión", "Tentativa de extorsión por otros medios"): "tentativa_extorsion_otros_medios",
    ("Trata de personas", "Trata de personas con fines de explotación sexual"): "trata_explotacion_sexual",
    ("Trata de personas", "Trata de personas con fines de trabajo o servicios forzados"): "trata_trabajo_forzado",
    ("Trata de personas", "Trata de personas con fines de tráfico de órganos"): "trata_trafico_organos",
    ("Trata de personas", "Trata de personas con otros fines"): "trata_otros_fines",
    ("Narcomenudeo", "Narcomenudeo posesión simple"): "narcomenudeo_posesion_simple",
    ("Narcomenudeo", "Narcomenudeo con fines de venta"): "narcomenudeo_venta",
    **{("Robo", k): v for k, v in ROBO_2026.items()},
}
# catalogue -> (first year it applies to, series-id prefix, tipos, subtipos)
CATALOGUES = {
    "2015": (2015, "", TIPOS_2015, SUBTIPOS_2015),
    "2026": (2026, "c2026_", TIPOS_2026, SUBTIPOS_2026),
}
COLUMNS = {"Año": "year", "Clave_Ent": "cve_ent", "Tipo de delito": "tipo", "Subtipo de delito": "subtipo"}
MONTHS = {
    "Enero": 1, "Febrero": 2, "Marzo": 3, "Abril": 4, "Mayo": 5, "Junio": 6, "Julio": 7,
    "Agosto": 8, "Septiembre": 9, "Octubre": 10, "Noviembre": 11, "Diciembre": 12,
}
N_STATES = 32


def catalogue_of(year: int) -> str:
    return max((c for c, (first, *_) in CATALOGUES.items() if year >= first), key=lambda c: CATALOGUES[c][0])


def fetch(ctx) -> list[RawFile]:
    page = ctx.http.get(LANDING_URL, source_id=SOURCE_ID, name="datos-abiertos.html", allow_html=True)
    urls = list(dict.fromkeys(urljoin(page.url, m) for m in LINK_RE.findall(page.content.decode("utf-8", "replace"))))
    if not urls:
        raise FetchError("no link to a state incidence file (IDEFC….csv) on the datos abiertos page",
                         source_id=SOURCE_ID, url=page.url)
    previous = ctx.previous.files if ctx.previous else []
    files, unchanged = [], 0
    for url in urls:
        same = next((f for f in previous if f.get("url") == url), None)
        try:
            files.append(ctx.http.get(url, source_id=SOURCE_ID, name=urlparse(url).path.rsplit("/", 1)[-1],
                                      etag=(same or {}).get("etag"), last_modified=(same or {}).get("last_modified")))
        except NotModified:
            files.append(_carry_over(ctx.previous, same))
            unchanged += 1
    if unchanged == len(urls):
        raise NotModified("no incidence file changed since the last snapshot", source_id=SOURCE_ID, url=page.url)
    # A catalogue the page no longer links (the 2015 series once SESNSP stops publishing it) is
    # carried over from the previous snapshot, so a refresh never drops a series family.
    covered = {c for f in files for c in _catalogues(f.content, f.name, f.url)}
    for entry in previous:
        if entry.get("url") not in urls and entry["name"] not in {f.name for f in files}:
            kept = _carry_over(ctx.previous, entry)
            if set(_catalogues(kept.content, kept.name, kept.url)) - covered:
                files.append(kept)
                covered |= set(_catalogues(kept.content, kept.name, kept.url))
    return files


def transform(snapshot) -> pd.DataFrame:
    parts = [_read(snapshot.path(f["name"]), f["name"], f.get("url")) for f in snapshot.files]
    cells = pd.concat(parts, ignore_index=True)
    key = ["year", "month", "cve_ent", "tipo", "subtipo", "modalidad"]
    if cells.duplicated(key).any():
        dup = cells[cells.duplicated(key)].iloc[0]
        raise ParseError(f"{dup['tipo']} / {dup['subtipo']} / {dup['modalidad']}, {dup['month']} {dup['year']}, "
                         f"state {dup['cve_ent']} appears twice (overlapping files or a repeated row)",
                         source_id=SOURCE_ID)
    return _tidy(cells)


def _carry_over(previous, entry: dict) -> RawFile:
    return RawFile(name=entry["name"], content=previous.read_bytes(entry["name"]), url=entry["url"],
                   accessed_at=entry["accessed_at"], etag=entry.get("etag"),
                   last_modified=entry.get("last_modified"), content_type=entry.get("content_type"))


def _catalogues(content: bytes, name: str, url: str | None) -> list[str]:
    years = _decode(content, name, url).splitlines()[1:]
    return sorted({catalogue_of(int(y.split(",", 1)[0])) for y in years if y.split(",", 1)[0].strip().isdigit()})


def _decode(content: bytes, name: str, url: str | None) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("latin-1")  # SESNSP's usual encoding


def _read(path: Path, name: str, url: str | None) -> pd.DataFrame:
    """One wide file -> long cells (year, cve_ent, tipo, subtipo, modalidad, month, crimes, catalogue)."""
    try:
        try:
            df = pd.read_csv(path, dtype=str, encoding="utf-8", keep_default_na=False)
        except UnicodeDecodeError:
            df = pd.read_csv(path, dtype=str, encoding="latin-1", keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError, EOFError) as exc:
        raise ParseError(f"{name}: unreadable or empty ({exc})", source_id=SOURCE_ID, url=url) from exc
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in [*COLUMNS, "Modalidad", *MONTHS] if c not in df.columns]
    if missing:
        raise ParseError(f"{name}: missing column(s) {missing}; found {list(df.columns)}", source_id=SOURCE_ID, url=url)
    if df.empty:
        raise ParseError(f"{name}: no rows", source_id=SOURCE_ID, url=url)
    df = df.rename(columns={**COLUMNS, "Modalidad": "modalidad"})
    for c in ("cve_ent", "tipo", "subtipo", "modalidad"):
        df[c] = df[c].str.strip()
    years = pd.to_numeric(df["year"], errors="coerce")
    if years.isna().any():
        raise ParseError(f"{name}: non-numeric Año {df.loc[years.isna(), 'year'].iloc[0]!r}", source_id=SOURCE_ID, url=url)
    df["year"] = years.astype(int)
    df["catalogue"] = df["year"].map(catalogue_of)
    _check_crimes(df, name, url)
    long = df.melt(id_vars=["year", "cve_ent", "tipo", "subtipo", "modalidad", "catalogue"],
                   value_vars=list(MONTHS), var_name="month", value_name="crimes")
    long["crimes"] = long["crimes"].str.strip()
    long = long[long["crimes"] != ""]  # after the cut-off, or not published: missing, not zero
    crimes = pd.to_numeric(long["crimes"].str.replace(",", ""), errors="coerce")
    if crimes.isna().any():
        raise ParseError(f"{name}: non-numeric crime count {long.loc[crimes.isna(), 'crimes'].iloc[0]!r}",
                         source_id=SOURCE_ID, url=url)
    return long.assign(crimes=crimes.astype(float))


def _check_crimes(df: pd.DataFrame, name: str, url: str | None) -> None:
    for cat, rows in df.groupby("catalogue"):
        _, _, tipos, subtipos = CATALOGUES[cat]
        unknown = sorted(set(rows["tipo"]) - set(tipos))
        split = {t for t, _ in subtipos}
        pairs = set(zip(rows["tipo"], rows["subtipo"]))
        # A type the catalogue does not split has one subtype of the same name; anything else is new.
        unknown += sorted(f"{t} / {s}" for t, s in pairs if (t, s) not in subtipos and (t in split or s != t))
        if unknown:
            raise ParseError(f"{name}: crime(s) not in the {cat} catalogue mapping: {unknown[:5]} "
                             f"(a catalogue change: map them in etl/sources/sesnsp_incidence.py)",
                             source_id=SOURCE_ID, url=url)


def _tidy(cells: pd.DataFrame) -> pd.DataFrame:
    iso = iso_by_agency_code("MX")
    cells = cells.assign(cve_ent=cells["cve_ent"].str.zfill(2))
    bad = sorted(set(cells["cve_ent"]) - set(iso))
    if bad:
        raise ParseError(f"unknown state code(s) Clave_Ent {bad}", source_id=SOURCE_ID)
    cells["geo"] = cells["cve_ent"].map(iso)
    cells["date"] = pd.to_datetime({"year": cells["year"], "month": cells["month"].map(MONTHS), "day": 1})
    parts = []
    for cat, rows in cells.groupby("catalogue"):
        _, prefix, tipos, subtipos = CATALOGUES[cat]
        rows = rows.assign(row=rows["subtipo"] + "|" + rows["modalidad"])
        parts.append(_complete_sums(rows, rows["tipo"].map(tipos), prefix))
        split = rows[[(t, s) in subtipos for t, s in zip(rows["tipo"], rows["subtipo"])]]
        crime = pd.Series([subtipos[k] for k in zip(split["tipo"], split["subtipo"])], index=split.index, dtype=object)
        parts.append(_complete_sums(split, crime, prefix))
    states = pd.concat(parts, ignore_index=True)
    national = states.groupby(["series_id", "date"], as_index=False).agg(value=("value", "sum"), n=("geo", "nunique"))
    national = national[national["n"] == N_STATES].drop(columns="n").assign(geo="MX")
    out = pd.concat([states, national], ignore_index=True)
    return out.assign(unit="crimes", source_id=SOURCE_ID, flag=None)


def _complete_sums(rows: pd.DataFrame, crime: pd.Series, prefix: str) -> pd.DataFrame:
    """Sum rows per crime, state and month, keeping a sum only when it has every row (subtype x
    modality) the catalogue has for that crime that year, in any state: a blank cell or a missing
    row never gives a low total."""
    rows = rows.assign(crime=crime.to_numpy())
    g = rows.groupby(["crime", "geo", "date"], as_index=False).agg(value=("crimes", "sum"), n=("row", "nunique"))
    per_year = rows.groupby(["crime", "year"])["row"].nunique()
    expected = per_year.reindex(pd.MultiIndex.from_arrays([g["crime"], g["date"].dt.year])).to_numpy()
    g = g[g["n"] == expected]
    return pd.DataFrame({"series_id": SOURCE_ID + "." + prefix + g["crime"], "geo": g["geo"], "date": g["date"],
                         "value": g["value"]})
