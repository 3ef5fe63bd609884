"""Finds the sources: every ``etl/sources/<id>.py`` with a ``<id>.toml`` beside it.

``XBORDER_SOURCE_PATH`` (folders separated by ``os.pathsep``) adds folders searched the same way,
so a source kept outside the package (an extension, a test's throwaway source) is found too."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from etl.metadata import MetadataError, SourceMeta, load_metadata

SOURCES_DIR = Path(__file__).parent / "sources"
SOURCE_PATH_ENV = "XBORDER_SOURCE_PATH"


def source_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(SOURCE_PATH_ENV, "").split(os.pathsep) if p]
    return [SOURCES_DIR, *extra]


def _import(meta: SourceMeta, toml: Path) -> ModuleType:
    if toml.parent == SOURCES_DIR:
        return importlib.import_module(f"etl.sources.{meta.id}")
    name = f"etl.sources.{meta.id}"
    spec = importlib.util.spec_from_file_location(name, toml.with_suffix(".py"))
    if spec is None or spec.loader is None:
        raise MetadataError(f"{toml}: no module {toml.with_suffix('.py').name} beside it")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


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
    for toml in [t for d in source_dirs() for t in sorted(d.glob("*.toml"))]:
        meta = load_metadata(toml)
        if meta.id in found:
            raise MetadataError(f"{toml}: source id {meta.id!r} is already defined in {found[meta.id].meta.path}")
        module = _import(meta, toml)
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
