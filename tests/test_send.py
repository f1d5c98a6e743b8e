"""``send`` refuses bad input before anything is queued, naming the field."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from archibot.client import Client
from archibot.errors import InvalidOperation


@pytest.fixture()
def agents(client: Client) -> list[str]:
    """Two agents with stored credentials (no ERP needed: nothing here reaches it)."""
    for agent in ("agent01", "agent02"):
        client.agents.add(agent, "pw-" + agent)
    return ["agent01", "agent02"]


GOOD_ORDER = {"customer": "1002305", "lines": [{"article": "H1.314.016", "quantity": 5}]}


def _journal_size(client: Client) -> int:
    with client.db.connection() as conn:
        row = conn.execute("SELECT count(*) AS n FROM operations").fetchone()
    return int(row["n"])  # type: ignore[index]


#: A create-customer payload the ERP takes: a PEC (``email``), an international phone.
GOOD_CUSTOMER = {"name": "Rossi S.r.l.", "vat_number": "01234567897", "street": "Via Roma 1", "zip": "37100",
                 "city": "Verona", "email": "rossi@pec.it", "phone": "+390451234567"}


def test_a_customer_with_only_an_sdi_code_or_a_fiscal_code_is_queued(client: Client, agents: list[str]) -> None:
    no_pec = {k: v for k, v in GOOD_CUSTOMER.items() if k != "email"}
    sdi = client.send("create-customer", agents[0], {**no_pec, "sdi": "m5uxcr1", "delivery_mode": "FedEx",
                                                      "price_group": "DETTAGLIO (consigliato)", "payment_terms": "201"})
    fiscal = client.send("create-customer", agents[0], {**no_pec, "vat_number": "01234567810",
                                                         "fiscal_code": "RSSMRA80A01L781X"})
    row = client.journal.get(sdi)
    assert row is not None and row["payload"]["sdi"] == "M5UXCR1" and row["payload"]["delivery_mode"] == "FedEx"
    assert client.status(fiscal)["status"] == "queued"


def _queued_messages(redis_client: redis.Redis) -> int:
    return sum(redis_client.llen(k) for k in redis_client.keys("dramatiq:*") if redis_client.type(k) == b"list")


@pytest.mark.parametrize(
    ("op_type", "payload", "field"),
    [
        ("submit-order", {"lines": GOOD_ORDER["lines"]}, "customer"),
        ("submit-order", {"customer": "1002305", "lines": []}, "lines"),
        ("submit-order", {"customer": "1002305"}, "lines"),
        ("submit-order", {"customer": "1002305", "lines": [{"quantity": 1}]}, "lines[0].article"),
        ("submit-order", {"customer": "1002305", "lines": [{"article": "X", "quantity": 0}]}, "lines[0].quantity"),
        ("submit-order", {"customer": "1002305", "lines": [{"article": "X", "quantity": "lots"}]}, "lines[0].quantity"),
        ("submit-order", {**GOOD_ORDER, "delivery_date": "31/12/2026"}, "delivery_date"),
        ("submit-order", {**GOOD_ORDER, "discount": 140}, "discount"),
        ("create-customer", {"name": "Rossi", "vat_number": "123", "street": "Via Roma 1", "zip": "37100", "city": "Verona"}, "vat_number"),
        # What the ERP's save refuses (d6-save-flow.json), refused before anything is queued:
        ("create-customer", {**GOOD_CUSTOMER, "phone": "045 123456"}, "phone"),
        ("create-customer", {**GOOD_CUSTOMER, "mobile": "3331234567"}, "mobile"),
        ("create-customer", {k: v for k, v in GOOD_CUSTOMER.items() if k != "email"}, "email"),
        ("create-customer", {**GOOD_CUSTOMER, "delivery_mode": "DHL"}, "delivery_mode"),
        ("create-customer", {**GOOD_CUSTOMER, "price_group": "INGROSSO"}, "price_group"),
        ("create-customer", {**GOOD_CUSTOMER, "sdi": "12-34"}, "sdi"),
        ("update-customer", {"customer": "1002305", "fields": {"phone": "045 1"}}, "fields.phone"),
        ("update-customer", {"customer": "1002305", "fields": {"delivery_mode": "DHL"}}, "fields.delivery_mode"),
        ("sync-orders", {"page": 3}, "page"),
        ("order-pizza", {}, "op_type"),
    ],
)
def test_bad_payload_is_refused_naming_the_field(
    client: Client, agents: list[str], redis_client: redis.Redis, op_type: str, payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidOperation) as refused:
        client.send(op_type, agents[0], payload)
    assert refused.value.field == field
    assert field.split(".")[0].split("[")[0] in str(refused.value)
    assert _journal_size(client) == 0
    assert _queued_messages(redis_client) == 0


def test_unknown_agent_is_refused(client: Client, agents: list[str], redis_client: redis.Redis) -> None:
    with pytest.raises(InvalidOperation) as refused:
        client.send("submit-order", "nobody", GOOD_ORDER)
    assert refused.value.field == "agent"
    assert "archibot agents add nobody" in str(refused.value)
    assert _journal_size(client) == 0
    assert _queued_messages(redis_client) == 0


def test_good_payload_is_journaled_queued_and_normalised(client: Client, agents: list[str], redis_client: redis.Redis) -> None:
    op_id = client.send("submit-order", agents[0], {"customer": 1002305, "lines": [{"article": " H1.314.016 ", "quantity": "2,5"}]})
    status = client.status(op_id)
    assert status["status"] == "queued" and status["attempts"] == 0
    row = client.journal.get(op_id)
    assert row is not None
    assert row["payload"] == {"customer": "1002305", "lines": [{"article": "H1.314.016", "quantity": 2.5}]}
    assert _queued_messages(redis_client) == 1


def test_passwords_are_encrypted_at_rest(client: Client, agents: list[str]) -> None:
    client.agents.add("agent99", "s3cret-pw")
    with client.db.connection() as conn:
        row = conn.execute("SELECT password_enc FROM agents WHERE agent = 'agent99'").fetchone()
    assert row is not None and b"s3cret-pw" not in bytes(row["password_enc"])
    assert client.agents.credentials("agent99").password == "s3cret-pw"
    assert "s3cret-pw" not in repr(client.agents.credentials("agent99"))


def test_a_line_field_error_names_the_line(client: Client, agents: list[str]) -> None:
    with pytest.raises(InvalidOperation) as refused:
        client.send("submit-order", agents[0], {"customer": "1", "lines": [{"article": "A", "quantity": 1},
                                                                          {"article": "x" * 41, "quantity": 1}]})
    assert refused.value.field == "lines[1].article" and "longer than 40" in str(refused.value)


def test_the_registry_parses_a_journaled_payload_into_its_model(client: Client, agents: list[str]) -> None:
    from archibot.operations import operation_type
    from archibot.payloads import SubmitOrder

    op_id = client.send("submit-order", agents[0], {"customer": 1002305, "lines": [{"article": "A", "quantity": "2"}],
                                                   "ignored": True})
    row = client.journal.get(op_id)
    assert row is not None
    parsed = operation_type("submit-order").parse(row["payload"])
    assert isinstance(parsed, SubmitOrder)
    assert parsed.customer == "1002305" and parsed.lines[0].quantity == 2.0 and parsed.notes is None
