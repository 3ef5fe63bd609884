"""Audit requirements.lock for known vulnerabilities.

    .venv/bin/python .ci/audit.py            # exit 0 clean, 1 vulnerable, 2 could not audit

First pip-audit against the lock (OSV's database, hashes required). Where OSV is unreachable
(a network that reaches only the package registries), fall back to PyPI's project JSON: its
``vulnerabilities`` are the advisories (from OSV) of the project's latest release, each with the
versions that fix it. A locked version equal to the latest is then fully audited; an older one
is checked against every advisory the latest release still lists and reported as "behind", since
advisories fixed before the latest release are not in that document. A package whose newer releases
all need a newer Python than this one is reported as at the newest release for this Python.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PIP_AUDIT = [sys.executable, "-m", "pip_audit", "-r", str(LOCK), "--require-hashes", "--disable-pip",
             "--progress-spinner", "off", "--vulnerability-service", "osv"]
NOT_AUDITED = ("could not be audited", "ConnectionError", "Max retries", "NameResolutionError")


def project_json_url() -> str:
    """The package index's per-project JSON API: the index pip is configured with
    (PIP_INDEX_URL or pip's config), else pip's own default index."""
    index = os.environ.get("PIP_INDEX_URL", "")
    if not index:
        got = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                             capture_output=True, text=True)
        index = got.stdout.strip() if got.returncode == 0 else ""
    if index:
        base = index.rstrip("/").removesuffix("/simple")
        return base + "/pypi/{name}/json"
    from pip._internal.models.index import PyPI

    return PyPI.pypi_url.rstrip("/") + "/{name}/json"


PYPI_PROJECT = project_json_url()
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)")


def pins() -> dict[str, str]:
    out = {}
    for line in LOCK.read_text().splitlines():
        m = PIN.match(line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def _vkey(v: str) -> tuple:
    from packaging.version import Version

    return Version(v)


def newest_for_python(doc: dict, python: str) -> str | None:
    """The newest final, unyanked release of a project whose files all admit ``python``."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion

    best = None
    for version, files in (doc.get("releases") or {}).items():
        try:
            v = _vkey(version)
            ok = bool(files) and not v.is_prerelease and not any(f.get("yanked") for f in files) and all(
                SpecifierSet(f.get("requires_python") or "").contains(python) for f in files)
        except (InvalidVersion, InvalidSpecifier):
            continue
        if ok and (best is None or v > _vkey(best)):
            best = version
    return best


def pypi_fallback(locked: dict[str, str]) -> int:
    python = platform.python_version()
    vulnerable, behind, newest_here, failed = [], [], [], []
    for name, version in sorted(locked.items()):
        try:
            with urllib.request.urlopen(PYPI_PROJECT.format(name=name), timeout=20) as r:
                doc = json.load(r)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            failed.append(f"{name}: {exc}")
            continue
        latest = doc["info"]["version"]
        for v in doc.get("vulnerabilities") or []:
            fixed = [f for f in v.get("fixed_in") or []]
            if not fixed or all(_vkey(version) < _vkey(f) for f in fixed):
                vulnerable.append(f"{name}=={version}: {v.get('id')} {', '.join(v.get('aliases') or [])} "
                                  f"(fixed in {', '.join(fixed) or 'no release'})")
        if _vkey(version) < _vkey(latest):
            here = newest_for_python(doc, python)
            if here is not None and _vkey(version) >= _vkey(here):
                newest_here.append(f"{name}=={version} (latest {latest} needs Python "
                                   f"{doc['info'].get('requires_python') or 'newer'})")
            else:
                behind.append(f"{name}=={version} (latest {latest})")
    at_latest = len(locked) - len(behind) - len(newest_here) - len(failed)
    print(f"PyPI project JSON: {len(locked)} locked packages; {at_latest} at their latest release, audited in full; "
          f"{len(newest_here)} at the newest release for Python {python}; {len(behind)} behind; those "
          f"{len(newest_here) + len(behind)} checked against the latest release's advisories")
    for b in newest_here:
        print(f"  newest for Python {python}: {b}")
    for b in behind:
        print(f"  behind: {b}")
    for f in failed:
        print(f"  not reached: {f}")
    for v in vulnerable:
        print(f"  VULNERABLE {v}")
    print("No known vulnerabilities found" if not vulnerable else f"{len(vulnerable)} known vulnerabilities")
    return 1 if vulnerable else (2 if failed else 0)


def main() -> int:
    if not LOCK.is_file():
        print(f"{LOCK.name} missing: uv pip compile pyproject.toml --extra dev --generate-hashes -o requirements.lock")
        return 2
    try:
        run = subprocess.run(PIP_AUDIT, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        run = None
    if run is not None and run.returncode in (0, 1) and not any(m in run.stdout + run.stderr for m in NOT_AUDITED):
        print(run.stdout + run.stderr)
        return run.returncode
    print("pip-audit could not reach OSV's database; using PyPI's project JSON instead")
    return pypi_fallback(pins())


if __name__ == "__main__":
    raise SystemExit(main())
