"""``send`` on hostile input: limits name the field, and nothing but InvalidOperation escapes.

Property-based (hypothesis) over every operation type: whatever JSON-ish payload and agent
name the main app sends, ``send`` either queues one operation or raises InvalidOperation —
and when it raises, nothing was journaled or queued.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archibot.client import Client
from archibot.errors import InvalidOperation
from archibot.operations import OPERATION_TYPES
from archibot.payloads import DEFAULT_MAX_LINES

AGENT = "agent01"
LINE = {"article": "H1.314.016", "quantity": 5}
ORDER = {"customer": "1002305", "lines": [LINE]}


@pytest.fixture()
def agent(client: Client) -> str:
    client.agents.add(AGENT, "pw-" + AGENT)
    return AGENT


def _journal_size(client: Client) -> int:
    with client.db.connection() as conn:
        row = conn.execute("SELECT count(*) AS n FROM operations").fetchone()
    return int(row["n"])  # type: ignore[index]


def _queued(redis_client: redis.Redis) -> int:
    return sum(redis_client.llen(k) for k in redis_client.keys("dramatiq:*")
               if redis_client.type(k) == b"list")


@pytest.mark.parametrize(
    ("op_type", "payload", "field", "says"),
    [
        ("submit-order", {**ORDER, "notes": "ok\x00then"}, "notes", "U+0000"),
        ("submit-order", {**ORDER, "customer": "10023\x1b05"}, "customer", "control character"),
        ("submit-order", {"customer": "1", "lines": [{"article": "A", "quantity": 10**400}]},
         "lines[0].quantity", "out of range"),
        ("submit-order", {"customer": "1", "lines": [{"article": "A", "quantity": "9" * 400}]},
         "lines[0].quantity", "number"),
        ("submit-order", {"customer": "1", "lines": [{"article": "A", "quantity": float("nan")}]},
         "lines[0].quantity", "finite"),
        ("submit-order", {"customer": "1", "lines": [LINE] * 200_000}, "lines", "at most"),
        ("submit-order", {**ORDER, "notes": "x" * 5000}, "notes", "longer than"),
        ("update-customer", {"customer": "1", "fields": {"city": "Ver\x00ona"}}, "fields.city",
         "control character"),
        ("update-customer", {"customer": "1", "fields": {1: "x"}}, "fields", "customer fields"),
        ("sync-orders", {2: 3}, "payload", "text"),
        ("submit-order", {**ORDER, "delivery_address": {"street": "Via Roma 1"}},
         "delivery_address.city", "required"),
        ("submit-order", {**ORDER, "delivery_address": {"id": "12a"}}, "delivery_address.id",
         "address id"),
        ("submit-order", {**ORDER, "delivery_address": ["Via Roma 1"]}, "delivery_address",
         "address id"),
        ("submit-order", {**ORDER, "delivery_address": {"id": "1", "zip": "35100"}},
         "delivery_address", "not expected"),
    ],
)
def test_limits_name_the_field_and_queue_nothing(
    client: Client, agent: str, redis_client: redis.Redis, op_type: str, payload: dict[str, Any],
    field: str, says: str,
) -> None:
    with pytest.raises(InvalidOperation) as refused:
        client.send(op_type, agent, payload)
    assert refused.value.field == field and says in str(refused.value)
    assert _journal_size(client) == 0 and _queued(redis_client) == 0


def test_an_order_at_the_line_limit_is_taken(client: Client, agent: str) -> None:
    lines = [{"article": f"A{n}", "quantity": 1} for n in range(DEFAULT_MAX_LINES)]
    assert client.send("submit-order", agent, {"customer": "1", "lines": lines})


@pytest.mark.parametrize("name", ["", " ", "a b", "agent\x00", "-agent", "a" * 65, "agent/../x",
                                  "ágent", "agent;drop"])
def test_agent_names_follow_the_documented_pattern(
    client: Client, agent: str, redis_client: redis.Redis, name: str
) -> None:
    with pytest.raises(InvalidOperation) as refused:
        client.send("sync-orders", name, {})
    assert refused.value.field == "agent"
    assert _journal_size(client) == 0 and _queued(redis_client) == 0


# Values a hostile or buggy main app might put anywhere in a payload.
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=300),
    st.sampled_from(["", " ", "\x00", "2,5", "1e400", "nan", "2026-02-30", "IT12345678901",
                     "37100", "H1.314.016", "1002305"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
_field_names = st.sampled_from([
    "customer", "lines", "notes", "delivery_date", "discount", "order", "name", "vat_number",
    "street", "zip", "city", "email", "phone", "fiscal_code", "fields", "article", "quantity",
    "variant", "page",
])
_lines = st.lists(st.dictionaries(st.sampled_from(["article", "quantity", "discount", "variant"]),
                                  _values, max_size=4), max_size=3)
_payloads = st.one_of(
    st.dictionaries(_field_names, _values, max_size=6),
    st.fixed_dictionaries({"customer": _values, "lines": _lines}),
    st.fixed_dictionaries({"customer": _values, "fields": st.dictionaries(
        st.sampled_from(["name", "city", "zip", "phone", "x"]), _values, max_size=3)}),
    _values,
)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(op_type=st.sampled_from(sorted(OPERATION_TYPES)), payload=_payloads,
       name=st.one_of(st.just(AGENT), st.text(max_size=70)))
def test_send_raises_nothing_but_invalid_operation_and_queues_nothing_then(
    client: Client, agent: str, redis_client: redis.Redis, op_type: str, payload: Any, name: str,
) -> None:
    before = (_journal_size(client), _queued(redis_client))
    try:
        op_id = client.send(op_type, name, payload)
    except InvalidOperation as exc:
        assert exc.field, "the error names a field"
        assert (_journal_size(client), _queued(redis_client)) == before
    else:
        assert op_id and _journal_size(client) == before[0] + 1
