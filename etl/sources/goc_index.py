"""GI-TOC Global Organized Crime Index: every indicator, 193 countries, each edition (2021, 2023, 2025).

GI-TOC publishes one workbook (``global_oc_index.xlsx``) and replaces it with each edition; the new
workbook keeps the older editions as extra sheets named ``<year>_dataset``. Every such sheet is
read, so the table holds all editions and a new one is picked up without a code change. The
sheets spell and order their columns differently ("Criminality avg," / "Criminality avg." /
"Resilience"), so columns are matched by normalised name, never by position; a column not in
``INDICATORS`` fails loudly (GI-TOC added an indicator: declare it).

Scores are expert assessments on a 1-10 scale (criminality: 10 = most severe; resilience: 10 =
most resilient). Region, continent and world values are the plain means of their member
countries' scores; membership is the newest edition's (GI-TOC moved countries between regions,
e.g. Kiribati to Micronesia in 2025, and merged Central America and the Caribbean in 2023), so a
region's line keeps one set of countries across editions. Dates are 1 January of the edition year.
"""

from __future__ import annotations

import re

import pandas as pd

from etl.errors import ParseError

SOURCE_ID = "goc_index"
URL = "https://ocindex.net/assets/downloads/global_oc_index.xlsx"
FILE_NAME = "global_oc_index.xlsx"
UNIT = "score"
SHEET_RE = re.compile(r"^(\d{4})_dataset$")
ID_COLUMNS = {"continent": "continent", "region": "region", "country": "country"}
SCORE_RANGE = (1.0, 10.0)
WORLD = "WLD"

# normalised column name (see normalise_name) -> series suffix. Pillar prefixes say what a score is:
# market_* are criminal-market scores (higher = more criminality), actors_* criminal-actor scores,
# resilience_* resilience scores (higher = more resilient).
INDICATORS = {
    "criminality": "criminality",
    "criminal markets": "criminal_markets",
    "human trafficking": "market_human_trafficking",
    "human smuggling": "market_human_smuggling",
    "extortion and protection racketeering": "market_extortion_protection_racketeering",
    "arms trafficking": "market_arms_trafficking",
    "trade in counterfeit goods": "market_counterfeit_goods",
    "illicit trade in excisable goods": "market_illicit_excisable_goods",
    "flora crimes": "market_flora_crimes",
    "fauna crimes": "market_fauna_crimes",
    "non-renewable resource crimes": "market_non_renewable_resource_crimes",
    "heroin trade": "market_heroin_trade",
    "cocaine trade": "market_cocaine_trade",
    "cannabis trade": "market_cannabis_trade",
    "synthetic drug trade": "market_synthetic_drug_trade",
    "cyber-dependent crimes": "market_cyber_dependent_crimes",
    "financial crimes": "market_financial_crimes",
    "criminal actors": "criminal_actors",
    "mafia-style groups": "actors_mafia_style_groups",
    "criminal networks": "actors_criminal_networks",
    "state-embedded actors": "actors_state_embedded",
    "foreign actors": "actors_foreign",
    "private sector actors": "actors_private_sector",
    "resilience": "resilience",
    "political leadership and governance": "resilience_political_leadership_governance",
    "government transparency and accountability": "resilience_government_transparency_accountability",
    "international cooperation": "resilience_international_cooperation",
    "national policies and laws": "resilience_national_policies_laws",
    "judicial system and detention": "resilience_judicial_system_detention",
    "law enforcement": "resilience_law_enforcement",
    "territorial integrity": "resilience_territorial_integrity",
    "anti-money laundering": "resilience_anti_money_laundering",
    "economic regulatory capacity": "resilience_economic_regulatory_capacity",
    "victim and witness support": "resilience_victim_witness_support",
    "prevention": "resilience_prevention",
    "non-state actors": "resilience_non_state_actors",
}

# GI-TOC's country names, normalised (every spelling of the three editions) -> ISO 3166-1 alpha-2.
COUNTRIES = {
    "afghanistan": "AF", "albania": "AL", "algeria": "DZ", "andorra": "AD", "angola": "AO",
    "antigua and barbuda": "AG", "argentina": "AR", "armenia": "AM", "australia": "AU", "austria": "AT",
    "azerbaijan": "AZ", "bahamas": "BS", "bahrain": "BH", "bangladesh": "BD", "barbados": "BB", "belarus": "BY",
    "belgium": "BE", "belize": "BZ", "benin": "BJ", "bhutan": "BT", "bolivia": "BO",
    "bosnia and herzegovina": "BA", "botswana": "BW", "brazil": "BR", "brunei": "BN", "bulgaria": "BG",
    "burkina faso": "BF", "burundi": "BI", "cabo verde": "CV", "cambodia": "KH", "cameroon": "CM",
    "canada": "CA", "central african republic": "CF", "chad": "TD", "chile": "CL", "china": "CN",
    "colombia": "CO", "comoros": "KM", "congo dem rep": "CD", "congo rep": "CG", "costa rica": "CR",
    "croatia": "HR", "cuba": "CU", "cyprus": "CY", "czech republic": "CZ", "côte d'ivoire": "CI",
    "denmark": "DK", "djibouti": "DJ", "dominica": "DM", "dominican republic": "DO", "ecuador": "EC",
    "egypt": "EG", "el salvador": "SV", "equatorial guinea": "GQ", "eritrea": "ER", "estonia": "EE",
    "eswatini": "SZ", "ethiopia": "ET", "fiji": "FJ", "finland": "FI", "france": "FR", "gabon": "GA",
    "gambia": "GM", "georgia": "GE", "germany": "DE", "ghana": "GH", "greece": "GR", "grenada": "GD",
    "guatemala": "GT", "guinea": "GN", "guinea-bissau": "GW", "guyana": "GY", "haiti": "HT", "honduras": "HN",
    "hungary": "HU", "iceland": "IS", "india": "IN", "indonesia": "ID", "iran": "IR", "iraq": "IQ",
    "ireland": "IE", "israel": "IL", "italy": "IT", "jamaica": "JM", "japan": "JP", "jordan": "JO",
    "kazakhstan": "KZ", "kenya": "KE", "kiribati": "KI", "korea dpr": "KP", "korea rep": "KR", "kuwait": "KW",
    "kyrgyzstan": "KG", "laos": "LA", "latvia": "LV", "lebanon": "LB", "lesotho": "LS", "liberia": "LR",
    "libya": "LY", "liechtenstein": "LI", "lithuania": "LT", "luxembourg": "LU", "madagascar": "MG",
    "malawi": "MW", "malaysia": "MY", "maldives": "MV", "mali": "ML", "malta": "MT", "marshall islands": "MH",
    "mauritania": "MR", "mauritius": "MU", "mexico": "MX", "micronesia (federated states of)": "FM",
    "moldova": "MD", "monaco": "MC", "mongolia": "MN", "montenegro": "ME", "morocco": "MA", "mozambique": "MZ",
    "myanmar": "MM", "namibia": "NA", "nauru": "NR", "nepal": "NP", "netherlands": "NL", "new zealand": "NZ",
    "nicaragua": "NI", "niger": "NE", "nigeria": "NG", "north macedonia": "MK", "norway": "NO", "oman": "OM",
    "pakistan": "PK", "palau": "PW", "panama": "PA", "papua new guinea": "PG", "paraguay": "PY", "peru": "PE",
    "philippines": "PH", "poland": "PL", "portugal": "PT", "qatar": "QA", "romania": "RO", "russia": "RU",
    "rwanda": "RW", "samoa": "WS", "san marino": "SM", "sao tome and principe": "ST", "saudi arabia": "SA",
    "senegal": "SN", "serbia": "RS", "seychelles": "SC", "sierra leone": "SL", "singapore": "SG",
    "slovakia": "SK", "slovenia": "SI", "solomon islands": "SB", "somalia": "SO", "south africa": "ZA",
    "south sudan": "SS", "spain": "ES", "sri lanka": "LK", "st kitts and nevis": "KN", "st lucia": "LC",
    "st vincent and the grenadines": "VC", "sudan": "SD", "suriname": "SR", "sweden": "SE", "switzerland": "CH",
    "syria": "SY", "tajikistan": "TJ", "tanzania": "TZ", "thailand": "TH", "timor-leste": "TL", "togo": "TG",
    "tonga": "TO", "trinidad and tobago": "TT", "tunisia": "TN", "turkey": "TR", "turkmenistan": "TM",
    "tuvalu": "TV", "uganda": "UG", "ukraine": "UA", "united arab emirates": "AE", "united kingdom": "GB",
    "united states": "US", "uruguay": "UY", "uzbekistan": "UZ", "vanuatu": "VU", "venezuela": "VE",
    "vietnam": "VN", "yemen": "YE", "zambia": "ZM", "zimbabwe": "ZW",
}

# Our world_region geo -> (name, Spanish name, parent geo, GI-TOC's spelling). Continents' parent
# is the world; regions' parent their continent (data/reference/geo.csv holds the same rows).
REGIONS = {
    WORLD: ("World", "Mundo", "", ""),
    "GOC-AFRICA": ("Africa", "África", WORLD, "Africa"),
    "GOC-AMERICAS": ("Americas", "América", WORLD, "Americas"),
    "GOC-ASIA": ("Asia", "Asia", WORLD, "Asia"),
    "GOC-EUROPE": ("Europe", "Europa", WORLD, "Europe"),
    "GOC-OCEANIA": ("Oceania", "Oceanía", WORLD, "Oceania"),
    "GOC-CENTRAL-AFRICA": ("Central Africa", "África Central", "GOC-AFRICA", "Central Africa"),
    "GOC-EAST-AFRICA": ("East Africa", "África Oriental", "GOC-AFRICA", "East Africa"),
    "GOC-NORTH-AFRICA": ("North Africa", "África del Norte", "GOC-AFRICA", "North Africa"),
    "GOC-SOUTHERN-AFRICA": ("Southern Africa", "África Austral", "GOC-AFRICA", "Southern Africa"),
    "GOC-WEST-AFRICA": ("West Africa", "África Occidental", "GOC-AFRICA", "West Africa"),
    "GOC-CARIBBEAN": ("Caribbean", "Caribe", "GOC-AMERICAS", "Caribbean"),
    "GOC-CENTRAL-AMERICA": ("Central America", "Centroamérica", "GOC-AMERICAS", "Central America"),
    "GOC-NORTH-AMERICA": ("North America", "Norteamérica", "GOC-AMERICAS", "North America"),
    "GOC-SOUTH-AMERICA": ("South America", "Sudamérica", "GOC-AMERICAS", "South America"),
    "GOC-CENTRAL-ASIA-CAUCASUS": ("Central Asia and the Caucasus", "Asia Central y el Cáucaso", "GOC-ASIA",
                                  "Central Asia and the Caucasus"),
    "GOC-EASTERN-ASIA": ("Eastern Asia", "Asia Oriental", "GOC-ASIA", "Eastern Asia"),
    "GOC-SOUTH-EASTERN-ASIA": ("South-Eastern Asia", "Sudeste Asiático", "GOC-ASIA", "South-Eastern Asia"),
    "GOC-SOUTHERN-ASIA": ("Southern Asia", "Asia Meridional", "GOC-ASIA", "Southern Asia"),
    "GOC-WESTERN-ASIA": ("Western Asia", "Asia Occidental", "GOC-ASIA", "Western Asia"),
    "GOC-CENTRAL-EASTERN-EUROPE": ("Central and Eastern Europe", "Europa Central y Oriental", "GOC-EUROPE",
                                   "Central & Eastern Europe"),
    "GOC-NORTHERN-EUROPE": ("Northern Europe", "Europa del Norte", "GOC-EUROPE", "Northern Europe"),
    "GOC-SOUTHERN-EUROPE": ("Southern Europe", "Europa del Sur", "GOC-EUROPE", "Southern Europe"),
    "GOC-WESTERN-EUROPE": ("Western Europe", "Europa Occidental", "GOC-EUROPE", "Western Europe"),
    "GOC-AUSTRALIA-NZ": ("Australia and New Zealand", "Australia y Nueva Zelanda", "GOC-OCEANIA",
                         "Australia and New Zealand"),
    "GOC-MELANESIA": ("Melanesia", "Melanesia", "GOC-OCEANIA", "Melanesia"),
    "GOC-MICRONESIA": ("Micronesia", "Micronesia", "GOC-OCEANIA", "Micronesia"),
    "GOC-POLYNESIA": ("Polynesia", "Polinesia", "GOC-OCEANIA", "Polynesia"),
}
CONTINENT_GEO = {gitoc: geo for geo, (_, _, parent, gitoc) in REGIONS.items() if parent == WORLD}
REGION_GEO = {gitoc: geo for geo, (_, _, parent, gitoc) in REGIONS.items() if parent not in ("", WORLD)}


def normalise_name(name) -> str:
    """'Criminality avg,' / 'Criminality avg.' / 'Criminality' -> 'criminality'; 'Congo, Dem, Rep,' ->
    'congo dem rep': lower case, commas and full stops dropped, the word 'avg' dropped, spaces collapsed."""
    text = re.sub(r"[.,]", " ", str(name)).lower()
    return re.sub(r"\s+", " ", re.sub(r"\bavg\b", " ", text)).strip()


def fetch(ctx) -> list:
    prev = {} if ctx.previous is None else next((f for f in ctx.previous.files if f["name"] == FILE_NAME), {})
    raw = ctx.http.get(URL, source_id=SOURCE_ID, name=FILE_NAME,
                       etag=prev.get("etag"), last_modified=prev.get("last_modified"))
    if not raw.content.startswith(b"PK"):
        raise ParseError(f"{FILE_NAME}: not an .xlsx workbook (starts {raw.content[:16]!r})",
                         source_id=SOURCE_ID, url=URL)
    return [raw]


def transform(snapshot) -> pd.DataFrame:
    entry = snapshot.file(FILE_NAME)
    url = entry.get("url")
    try:
        sheets = pd.read_excel(snapshot.path(FILE_NAME), sheet_name=None, engine="openpyxl", dtype=object)
    except (OSError, ValueError, KeyError) as exc:  # openpyxl raises these for a damaged or non-xlsx file
        raise ParseError(f"{FILE_NAME}: unreadable workbook ({type(exc).__name__}: {exc})",
                         source_id=SOURCE_ID, url=url) from exc
    editions = {int(m.group(1)): df for name, df in sheets.items() if (m := SHEET_RE.match(name.strip()))}
    if not editions:
        raise ParseError(f"{FILE_NAME}: no sheet named <year>_dataset; sheets are {list(sheets)}",
                         source_id=SOURCE_ID, url=url)
    countries = pd.concat([_edition(year, df, url) for year, df in sorted(editions.items())], ignore_index=True)
    members = _membership(countries[countries["year"] == max(editions)])
    regions = _region_means(countries, members)
    out = pd.concat([countries.drop(columns=["continent", "region"]), regions], ignore_index=True)
    return pd.DataFrame({
        "series_id": SOURCE_ID + "." + out["indicator"], "geo": out["geo"],
        "date": pd.to_datetime(out["year"].astype(str) + "-01-01"), "value": out["value"].astype(float),
        "unit": UNIT, "source_id": SOURCE_ID, "flag": None,
    })


def _edition(year: int, df: pd.DataFrame, url: str | None) -> pd.DataFrame:
    """One <year>_dataset sheet -> long rows (year, geo, continent, region, indicator, value)."""
    sheet = f"{year}_dataset"

    def fail(problem: str) -> ParseError:
        return ParseError(f"{FILE_NAME}, sheet {sheet}: {problem}", source_id=SOURCE_ID, url=url)

    names = {c: normalise_name(c) for c in df.columns}
    unknown = [c for c, n in names.items() if n not in INDICATORS and n not in ID_COLUMNS]
    if unknown:
        raise fail(f"unknown column(s) {unknown}; add them to INDICATORS in etl/sources/{SOURCE_ID}.py")
    missing = [n for n in [*ID_COLUMNS, "criminality", "resilience"] if n not in names.values()]
    if missing:
        raise fail(f"missing column(s) {missing}; found {list(df.columns)}")
    if len(set(names.values())) != len(names):
        raise fail(f"two columns normalise to the same name: {list(df.columns)}")
    df = df.rename(columns={c: ID_COLUMNS.get(n, INDICATORS.get(n)) for c, n in names.items()})
    df = df.dropna(how="all")
    for col in ID_COLUMNS.values():
        df[col] = df[col].astype("string").str.strip()
    key = df["country"].map(normalise_name)
    df["geo"] = key.map(COUNTRIES)
    if df["geo"].isna().any():
        raise fail(f"unknown country name(s) {sorted(df.loc[df['geo'].isna(), 'country'])}; "
                   f"add them to COUNTRIES in etl/sources/{SOURCE_ID}.py")
    if df["geo"].duplicated().any():
        raise fail(f"country listed twice: {sorted(df.loc[df['geo'].duplicated(), 'country'])}")
    long = df.melt(id_vars=["geo", "continent", "region"], value_vars=[c for c in df.columns if c in
                   INDICATORS.values()], var_name="indicator", value_name="value")
    value = pd.to_numeric(long["value"], errors="coerce")
    bad = long[value.isna() | ~value.between(*SCORE_RANGE)]
    if len(bad):
        row = bad.iloc[0]
        raise fail(f"{len(bad)} score(s) missing or outside {SCORE_RANGE[0]:g}-{SCORE_RANGE[1]:g}, e.g. "
                   f"{row['geo']} {row['indicator']} = {row['value']!r}")
    return long.assign(value=value.astype(float), year=year)


def _membership(newest: pd.DataFrame) -> pd.DataFrame:
    """geo -> its continent and region geos, from the newest edition's classification."""
    firsts = newest.drop_duplicates("geo")[["geo", "continent", "region"]]
    out = firsts.assign(continent_geo=firsts["continent"].map(CONTINENT_GEO), region_geo=firsts["region"].map(REGION_GEO))
    for col, name in (("continent_geo", "continent"), ("region_geo", "region")):
        unknown = sorted(set(out.loc[out[col].isna(), name]))
        if unknown:
            raise ParseError(f"{FILE_NAME}: unknown GI-TOC {name}(s) {unknown}; add them to REGIONS in "
                             f"etl/sources/{SOURCE_ID}.py and data/reference/geo.csv", source_id=SOURCE_ID)
    return out.set_index("geo")[["continent_geo", "region_geo"]]


def _region_means(countries: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Mean of member countries' scores per (year, indicator) for each region, continent and the world.
    A group gets a value only if every member has one that edition."""
    rows = countries[countries["geo"].isin(members.index)].join(members, on="geo")
    size = {WORLD: len(members), **members["continent_geo"].value_counts().to_dict(),
            **members["region_geo"].value_counts().to_dict()}
    frames = []
    for level in (None, "continent_geo", "region_geo"):
        group = rows.assign(group=WORLD) if level is None else rows.assign(group=rows[level])
        agg = group.groupby(["year", "indicator", "group"], as_index=False)["value"].agg(["mean", "count"])
        agg = agg[agg["count"] == agg["group"].map(size)]
        frames.append(agg.rename(columns={"group": "geo", "mean": "value"})[["year", "geo", "indicator", "value"]])
    return pd.concat(frames, ignore_index=True)
