"""`python -m etl`: help with examples, documented exit codes, list/status, and the README's table."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import etl.cli
from etl import paths
from etl.registry import all_sources

REPO = Path(__file__).resolve().parents[2]
SID = "inegi_homicide"


def etl_cmd(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def help_text(*cmd: str, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        etl.cli.main([*cmd, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_entry_point_help():
    proc = etl_cmd("--help")
    assert proc.returncode == 0, proc.stderr
    assert "example" in proc.stdout.lower() and "python -m etl run --offline" in proc.stdout
    assert all(cmd in proc.stdout for cmd in ("list", "run", "status"))


@pytest.mark.parametrize("cmd", ["list", "run", "status"])
def test_every_command_has_help_with_an_example(cmd, capsys):
    out = help_text(cmd, capsys=capsys)
    assert "example" in out.lower()
    assert f"python -m etl {cmd}" in out


def test_run_help_documents_exit_codes(capsys):
    out = help_text("run", capsys=capsys)
    assert "exit codes" in out
    for code, word in [(0, "fresh"), (1, "partial"), (2, "fail"), (3, "lock")]:
        line = re.search(rf"^\s*{code}\s+(.+)$", out, re.M)
        assert line, f"exit code {code} undocumented in `run --help`"
        assert word in line.group(1).lower()
    assert "--offline" in out and "--keep-vintages" in out


def test_readme_table_lists_every_source():
    readme = REPO / "README.md"
    assert readme.is_file(), "README.md is missing: it must list the sources in a table"
    table_lines = [ln for ln in readme.read_text(encoding="utf-8").splitlines() if ln.lstrip().startswith("|")]
    assert table_lines, "README.md has no markdown table"
    for sid in all_sources():
        assert any(re.search(rf"\b{re.escape(sid)}\b", ln) for ln in table_lines), \
            f"README.md's table of sources lacks {sid}"


@pytest.mark.data_sources(SID)
def test_list_and_status(data_dir, capsys):
    assert etl.cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for sid in all_sources():
        assert re.search(rf"^{sid}\s+\[", out, re.M)
    assert out.count("not built") == len(all_sources())

    assert etl.cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert all(f"{sid}: not built" in out for sid in all_sources())

    assert etl.cli.main(["run", "--offline", SID]) == 0
    assert "done: all fresh" in capsys.readouterr().err

    assert etl.cli.main(["list", "--series"]) == 0
    out = capsys.readouterr().out
    assert "inegi_homicide.homicides" in out and "9,108 rows" in out and "2000-01-01..2022-12-01" in out
    assert out.count("not built") == len(all_sources()) - 1

    assert etl.cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"^{SID}: ok — snapshot 2024-03-21, 9,108 rows, 2000-01-01..2022-12-01, built ", out, re.M)


@pytest.mark.data_sources(SID)
def test_status_json_from_the_entry_point(data_dir):
    env = {paths.DATA_DIR_ENV: str(data_dir)}
    assert etl_cmd("run", "--offline", SID, env=env).returncode == 0
    proc = etl_cmd("status", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    cat = json.loads(proc.stdout)
    assert cat["version"] == 1
    assert cat["sources"][SID]["snapshot"] == "2024-03-21" and cat["sources"][SID]["rows"] == 9108
    assert cat["attempts"][SID]["status"] == "ok" and cat["attempts"][SID]["mode"] == "offline"
    assert set(cat["sources"]) == {SID}


def test_unknown_source_exits_2(data_dir, capsys):
    assert etl.cli.main(["run", "--offline", "no_such_source"]) == 2
    err = capsys.readouterr().err
    assert "unknown source 'no_such_source'" in err and SID in err


def test_bad_usage_exits_with_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        etl.cli.main(["frobnicate"])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err
