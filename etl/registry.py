"""Finds the sources: every ``etl/sources/<id>.py`` with a ``<id>.toml`` beside it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from etl.metadata import SourceMeta, load_metadata

SOURCES_DIR = Path(__file__).parent / "sources"


@dataclass(frozen=True)
class Source:
    meta: SourceMeta
    module: ModuleType

    @property
    def id(self) -> str:
        return self.meta.id


@cache
def all_sources() -> dict[str, Source]:
    found = {}
    for toml in sorted(SOURCES_DIR.glob("*.toml")):
        meta = load_metadata(toml)
        module = importlib.import_module(f"etl.sources.{meta.id}")
        for fn in ("fetch", "transform"):
            if not callable(getattr(module, fn, None)):
                raise TypeError(f"etl/sources/{meta.id}.py must define {fn}()")
        found[meta.id] = Source(meta, module)
    return found


def get_source(source_id: str) -> Source:
    sources = all_sources()
    if source_id not in sources:
        raise KeyError(f"unknown source {source_id!r}; known: {', '.join(sources)}")
    return sources[source_id]
