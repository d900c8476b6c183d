"""sigsync: the thin Python runner of a PostgreSQL-native signal event log.

The logic lives in SQL (the `sql/` tree, schema `sigsync`); this package applies
migrations, ingests files and runs an embedded PostgreSQL cluster when no database
is given.
"""

__version__ = "0.1.0"
