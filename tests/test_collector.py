"""The pgTAP harness must fail for every way a pgTAP file can go wrong."""

import pytest

from pgtap_runner import run_pgtap_file, tap_failure


def _run(tmp_path, db, body: str):
    path = tmp_path / "case_test.sql"
    path.write_text(f"BEGIN;\n{body}\nSELECT * FROM finish();\nROLLBACK;\n")
    return run_pgtap_file(path, db)


def test_passing_file_passes(tmp_path, db):
    result = _run(tmp_path, db, "SELECT plan(2);\nSELECT ok(true, 'first');\nSELECT is(1 + 1, 2, 'second');")
    assert tap_failure(result) is None
    assert result.plan == 2 and [t.description for t in result.tests] == ["first", "second"]


def test_not_ok_fails_with_description_and_diagnostics(tmp_path, db):
    result = _run(tmp_path, db, "SELECT plan(2);\nSELECT ok(true, 'fine');\nSELECT is(1 + 1, 3, 'arithmetic is wrong');")
    failure = tap_failure(result)
    assert failure is not None
    assert "not ok 2 - arithmetic is wrong" in failure
    assert "have: 2" in failure and "want: 3" in failure  # pgTAP's diagnostics are shown
    assert "fine" not in failure


def test_todo_not_ok_does_not_fail(tmp_path, db):
    body = "SELECT plan(1);\nSELECT * FROM todo('not there yet', 1);\nSELECT ok(false, 'pending feature');"
    assert tap_failure(_run(tmp_path, db, body)) is None


def test_plan_mismatch_fails(tmp_path, db):
    failure = tap_failure(_run(tmp_path, db, "SELECT plan(3);\nSELECT ok(true, 'one');\nSELECT ok(true, 'two');"))
    assert failure is not None and "planned 3 tests but ran 2" in failure


def test_missing_plan_fails(tmp_path, db):
    path = tmp_path / "no_plan_test.sql"
    path.write_text("SELECT 'ok 1 - a TAP line without a plan';\n")
    result = run_pgtap_file(path, db)
    assert result.returncode == 0 and len(result.tests) == 1
    failure = tap_failure(result)
    assert failure is not None and "no plan" in failure


def test_sql_error_fails_with_stderr(tmp_path, db):
    result = _run(tmp_path, db, "SELECT plan(2);\nSELECT ok(true, 'one');\nSELECT no_such_column FROM sigsync.sigsync_migrations;")
    failure = tap_failure(result)
    assert result.returncode != 0
    assert failure is not None and 'column "no_such_column" does not exist' in failure


@pytest.mark.parametrize("line", ["Bail out! cannot go on"])
def test_bail_out_fails(tmp_path, db, line):
    failure = tap_failure(_run(tmp_path, db, f"SELECT plan(1);\nSELECT ok(true, 'one');\n\\echo {line}"))
    assert failure is not None and "Bail out!" in failure
