"""The journal's schema and the code agree: the SQL CHECK constraints hold exactly the
states of store/states.py, and the typed row (store/rows.py) every column.

Read from the migrated database itself (``pg_constraint``, ``information_schema``), so a
migration that adds a status without the enum, or an enum member without its migration,
or a column the row does not carry, fails here. (``logins.outcome`` has no CHECK
constraint: LoginOutcome is held by the code alone.)
"""

from __future__ import annotations

import re

import pytest

from store.db import Database
from store.rows import OperationRow
from store.states import PHASES, STATUSES


def _check_values(db: Database, table: str, column: str) -> set[str]:
    """The values the CHECK constraint on ``table.column`` allows (its quoted literals)."""
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
            " WHERE c.contype = 'c' AND c.conrelid = %s::regclass AND a.attname = %s",
            (table, column),
        ).fetchall()
    assert len(rows) == 1, f"expected one CHECK constraint on {table}.{column}, found {len(rows)}"
    return set(re.findall(r"'([^']*)'::text", rows[0]["def"]))


@pytest.mark.parametrize(("column", "states"), [("status", STATUSES), ("phase", PHASES)])
def test_the_operations_check_constraints_equal_the_enums(db: Database, column: str,
                                                          states: tuple[str, ...]) -> None:
    assert _check_values(db, "operations", column) == {str(s) for s in states}


def test_logins_outcome_has_no_check_constraint_to_hold(db: Database) -> None:
    with db.connection() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
            " WHERE c.contype = 'c' AND c.conrelid = 'logins'::regclass AND a.attname = 'outcome'"
        ).fetchone()
    # Should a migration add one, this fails: then compare it with LOGIN_OUTCOMES above.
    assert row is not None and row["n"] == 0


def test_the_typed_row_holds_every_column_of_operations(db: Database) -> None:
    with db.connection() as conn:
        columns = [r["column_name"] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'operations'"
            " ORDER BY ordinal_position"
        ).fetchall()]
    assert list(OperationRow.__dataclass_fields__) == columns
