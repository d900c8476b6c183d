"""Run one pgTAP file with psql, unchanged, and judge its TAP output.

The files have the form `BEGIN; SELECT plan(n); ... SELECT * FROM finish(); ROLLBACK;`
and run under pg_prove as well. psql prints the TAP lines as bare tuples (-A -t);
a file fails when psql fails, any test is `not ok` (except TODO), the count of tests
differs from the plan, or there is no plan.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PLAN = re.compile(r"^1\.\.(\d+)")
RESULT = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$")
TODO = re.compile(r"#\s*(TODO|SKIP)\b", re.IGNORECASE)


def find_psql() -> str:
    for candidate in ("/usr/lib/postgresql/15/bin/psql", shutil.which("psql")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("psql not found (install postgresql-15)")


@dataclass
class TapTest:
    number: int
    ok: bool
    description: str
    diagnostics: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return not self.ok and not TODO.search(self.description)


@dataclass
class TapResult:
    path: Path
    returncode: int
    stdout: str
    stderr: str
    plan: int | None = None
    tests: list[TapTest] = field(default_factory=list)
    bail_out: str | None = None


def parse_tap(result: TapResult) -> TapResult:
    current: TapTest | None = None
    for line in result.stdout.splitlines():
        line = line.rstrip()
        if (m := PLAN.match(line)) and result.plan is None:
            result.plan = int(m[1])
        elif m := RESULT.match(line):
            current = TapTest(int(m[2] or len(result.tests) + 1), m[1] == "ok", m[3])
            result.tests.append(current)
        elif line.startswith("#") and current is not None:
            current.diagnostics.append(line[1:].strip())
        elif line.startswith("Bail out!"):
            result.bail_out = line
    return result


def run_pgtap_file(path: Path | str, dsn: str, timeout: float = 300) -> TapResult:
    path = Path(path)
    proc = subprocess.run(
        [find_psql(), "-X", "-q", "-A", "-t", "-P", "pager=off", "-v", "ON_ERROR_STOP=1", "-f", str(path), "-d", dsn],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    return parse_tap(TapResult(path, proc.returncode, proc.stdout, proc.stderr))


def tap_failure(result: TapResult) -> str | None:
    """Why the file failed, or None when it passed."""
    name = result.path.name
    if result.returncode != 0:
        return f"{name}: psql exited with {result.returncode}\n{result.stderr.strip()}"
    if result.bail_out:
        return f"{name}: {result.bail_out}"
    failed = [t for t in result.tests if t.failed]
    if failed:
        lines = [f"{name}: {len(failed)} of {len(result.tests)} tests failed"]
        for t in failed:
            lines.append(f"not ok {t.number} - {t.description}")
            lines += [f"    # {d}" for d in t.diagnostics]
        return "\n".join(lines)
    if result.plan is None:
        return f"{name}: no plan line (1..N) in the output\n{result.stdout.strip()}"
    if result.plan != len(result.tests):
        return f"{name}: planned {result.plan} tests but ran {len(result.tests)}"
    return None
