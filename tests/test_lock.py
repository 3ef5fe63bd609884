"""requirements.lock is what the audit reads: it must pin every package pyproject.toml declares,
at a version the declaration allows (a dependency added without re-locking goes unaudited)."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.M)


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [r for group in project.get("optional-dependencies", {}).values() for r in group]
    return [Requirement(r) for r in [*project["dependencies"], *extras]]


def _locked() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def test_lock_pins_every_declared_package_at_an_allowed_version():
    locked = _locked()
    missing = [str(r) for r in _declared() if canonicalize_name(r.name) not in locked]
    assert not missing, f"declared but not locked (re-run the lock command in the README): {missing}"
    outside = [f"{r} (locked {locked[canonicalize_name(r.name)]})" for r in _declared()
               if not r.specifier.contains(locked[canonicalize_name(r.name)], prereleases=True)]
    assert not outside, f"locked outside the declared range: {outside}"


def test_lock_pins_carry_hashes():
    # pip-audit runs with --require-hashes: a pin without one makes the whole audit fail.
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text)
    unhashed = [b.split()[0] for b in blocks if PIN.match(b) and "--hash=sha256:" not in b]
    assert not unhashed, unhashed


def test_audit_tells_a_release_this_python_cannot_install_from_being_behind():
    import importlib.util

    spec = importlib.util.spec_from_file_location("audit", ROOT / ".ci" / "audit.py")
    audit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(audit)
    # Synthetic project document (known answer): 2.5 needs Python 3.12, 2.4.1 was yanked, 2.6rc1 is a pre-release.
    doc = {"releases": {
        "2.3.0": [{"requires_python": ">=3.10"}], "2.4.0": [{"requires_python": ">=3.11"}],
        "2.4.1": [{"requires_python": ">=3.11", "yanked": True}], "2.5.0": [{"requires_python": ">=3.12"}],
        "2.6.0rc1": [{"requires_python": ">=3.11"}], "2.2.0": [],
    }}
    assert audit.newest_for_python(doc, "3.11.7") == "2.4.0"
    assert audit.newest_for_python(doc, "3.12.1") == "2.5.0"
    assert audit.newest_for_python(doc, "3.9.0") is None
