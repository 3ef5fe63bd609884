"""Errors the pipeline raises. Each names the source and, where there is one, the URL."""

from __future__ import annotations


class EtlError(Exception):
    """Base class: a message meant for the operator, naming source, URL and problem."""

    def __init__(self, problem: str, *, source_id: str | None = None, url: str | None = None):
        self.problem = problem
        self.source_id = source_id
        self.url = url
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.source_id:
            where.append(f"source {self.source_id}")
        if self.url:
            where.append(f"url {self.url}")
        prefix = f"[{', '.join(where)}] " if where else ""
        return f"{prefix}{self.problem}"


class FetchError(EtlError):
    """The publisher could not be reached or answered with something unusable."""


class NotModified(EtlError):
    """Conditional GET: the publisher's file has not changed since the last snapshot."""


class ParseError(EtlError):
    """A raw file does not have the layout the source module expects."""


class ValidationError(EtlError):
    """The tidy table breaks the data contract."""


class LockHeld(EtlError):
    """Another ETL run holds the lock."""


class NoSnapshot(EtlError):
    """There is no local raw snapshot to build from."""
