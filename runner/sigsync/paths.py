"""Where the SQL tree is."""

from __future__ import annotations

from pathlib import Path

from sigsync.errors import SigsyncError

_PACKAGE = Path(__file__).resolve().parent


def sql_dir(override: Path | str | None = None) -> Path:
    """The SQL tree to migrate from.

    `override` (--sql-dir / SIGSYNC_SQL_DIR) wins; else the copy shipped inside the
    wheel (`sigsync/sql/`); else the repository's `sql/` (editable install, checkout).
    """
    candidates = [Path(override)] if override else [_PACKAGE / "sql", _PACKAGE.parents[1] / "sql"]
    for candidate in candidates:
        if (candidate / "schema").is_dir():
            return candidate
    raise SigsyncError(f"no SQL tree found (looked for a schema/ folder in {', '.join(map(str, candidates))})")
