"""One HTTP client for every source: timeouts, retries with backoff, conditional GET.

Every failure becomes a :class:`FetchError` that names the source, the URL and the problem,
so an operator reading a log line knows which publisher broke and how.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from etl.errors import FetchError, NotModified

USER_AGENT = "xborder-etl/0.1 (+US-Mexico cross-border statistics dashboard; open-source)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
HTML_MARKERS = (b"<!doctype html", b"<html")


@dataclass(frozen=True)
class RawFile:
    """One downloaded (or seeded) file, before it is written into a snapshot."""

    name: str
    content: bytes
    url: str
    accessed_at: str
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None


class Http:
    def __init__(
        self,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 1.0,
    ):
        self.timeout = (connect_timeout, timeout)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def get(
        self,
        url: str,
        *,
        source_id: str,
        name: str,
        params: dict | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        allow_html: bool = False,
    ) -> RawFile:
        """GET ``url`` and return its body as a :class:`RawFile` called ``name``.

        Raises NotModified on 304 (when ``etag``/``last_modified`` were given) and FetchError
        on anything unusable: HTTP errors, timeouts, truncated or empty bodies, or an HTML
        page where data was expected.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        accessed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            resp = self.session.get(url, params=params, headers=headers, timeout=self.timeout)
            full_url = resp.url
            if resp.status_code == 304:
                raise NotModified("not modified since the last snapshot", source_id=source_id, url=full_url)
            if resp.status_code >= 400:
                raise FetchError(
                    f"HTTP {resp.status_code} {resp.reason or ''}".strip(), source_id=source_id, url=full_url
                )
            content = resp.content
        except requests.exceptions.Timeout as exc:
            raise FetchError(
                f"timed out (connect {self.timeout[0]:g}s, read {self.timeout[1]:g}s): {type(exc).__name__}",
                source_id=source_id,
                url=url,
            ) from exc
        except requests.exceptions.ChunkedEncodingError as exc:
            raise FetchError(f"truncated body: the connection closed early ({exc})", source_id=source_id, url=url) from exc
        except requests.exceptions.RetryError as exc:
            raise FetchError(f"gave up after retries: {exc}", source_id=source_id, url=url) from exc
        except requests.exceptions.RequestException as exc:
            raise FetchError(f"request failed: {type(exc).__name__}: {exc}", source_id=source_id, url=url) from exc

        expected = resp.headers.get("Content-Length")
        encoding = resp.headers.get("Content-Encoding")
        if expected and not encoding and expected.isdigit() and len(content) < int(expected):
            raise FetchError(
                f"truncated body: got {len(content)} of {expected} bytes", source_id=source_id, url=full_url
            )
        if not content.strip():
            raise FetchError("empty response body", source_id=source_id, url=full_url)
        if not allow_html and content.lstrip()[:100].lower().startswith(HTML_MARKERS):
            raise FetchError(
                "got an HTML page where a data file was expected (moved file or error page?)",
                source_id=source_id,
                url=full_url,
            )
        return RawFile(
            name=name,
            content=content,
            url=full_url,
            accessed_at=accessed_at,
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            content_type=resp.headers.get("Content-Type"),
        )
