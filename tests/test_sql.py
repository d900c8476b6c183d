"""Every tests/sql/*.sql pgTAP file is one test, run on a fresh copy of the template database."""

from pathlib import Path

import pytest

from pgtap_runner import run_pgtap_file, tap_failure

SQL_TESTS = sorted((Path(__file__).parent / "sql").glob("*.sql"))


@pytest.mark.parametrize("path", SQL_TESTS, ids=[p.name for p in SQL_TESTS])
def test_pgtap_file(path, db):
    failure = tap_failure(run_pgtap_file(path, db))
    if failure:
        pytest.fail(failure, pytrace=False)
