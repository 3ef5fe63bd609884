"""``python -m dashboard list``: the panels and series the dashboard shows, from the metadata."""

from __future__ import annotations

import argparse
import sys

from etl.metadata import MetadataError
from etl.vocabulary import VocabularyError


def _cmd_list(args: argparse.Namespace) -> int:
    from dashboard.registry import registry

    reg = registry()
    lang = args.lang
    for p in reg.ordered():
        title = p.title_es if lang == "es" else p.title
        on = "shown by default" if p.default_on else "opt-in"
        print(f"{p.key}  [{p.geo_kind}, {p.geo_param}={p.default_geo}, {on}]  {title.format(geo='…')}")
        for f in p.facets:
            default = ",".join(f.default) or "off"
            print(f"    facet {p.facet_param(f)} ({f.kind}; default {default}"
                  + (f"; also {', '.join(f.aliases)}" if f.aliases else "") + ")")
        if args.series:
            for s in p.series:
                facets = " ".join(f"{k}={v}" for k, v in s.facets)
                name = s.label_es if lang == "es" else s.label
                print(f"    - {s.id}  [{s.unit}, {s.frequency}{', per 100k' if s.per_100k else ''}]  {name}  {facets}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard",
        description="Inspect what the dashboard shows: the timeline panels and their series, as declared in "
                    "each source's TOML ([[panels]] and [series.display]) and checked by dashboard.registry.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("list", help="list the panels (and with --series their series)",
                       description="List every timeline panel: key, geography, URL parameters, defaults.",
                       epilog="example:\n  python -m dashboard list --series --lang es",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--series", action="store_true", help="also list each panel's series with unit and facets")
    p.add_argument("--lang", choices=("en", "es"), default="en", help="language of titles and labels")
    p.set_defaults(func=_cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from dashboard.registry import RegistryError

    try:
        return args.func(args)
    except (RegistryError, MetadataError, VocabularyError) as exc:  # one line naming file, entry, field
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
