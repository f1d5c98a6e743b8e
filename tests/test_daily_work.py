"""The rest of the agents' daily work end to end — HTTP API or client, journal, workers, Chromium,
simulator: delivery notes, invoices and their PDFs, prices, VAT checks, one customer's record,
batches of orders; and syncs that never wipe a cache."""

from __future__ import annotations

import io
import itertools
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader

from archibot.client import Client
from archibot_devtools.local import SimProcess
from store.cache import Cache
from tests.fix_api import AUTH
from tests.fix_stack import wait_all


def pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(content)).pages)


def _without_timings(result: dict[str, Any]) -> dict[str, Any]:
    """An operation's result without its step timings (``step_ms``, erp/steps.py)."""
    return {k: v for k, v in result.items() if k != "step_ms"}


def sim_documents(sim: SimProcess, agent: str, kind: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = sim.call("GET", f"/__sim/documents?agent={agent}")[kind]
    return docs


def send_api(api: TestClient, op_type: str, agent: str, payload: dict[str, Any]) -> str:
    response = api.post("/v1/operations", json={"type": op_type, "agent": agent, "payload": payload},
                        headers=AUTH)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_delivery_notes_and_invoices_sync_into_their_caches(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[2]
    done = wait_all(client, [client.send("sync-ddt", agent, {}), client.send("sync-invoices", agent, {})])
    assert [d["status"] for d in done] == ["done", "done"], [d["error"] for d in done]
    cache = Cache(client.db)
    ddts, invoices = sim_documents(sim, agent, "ddt"), sim_documents(sim, agent, "invoices")
    assert {r["id"] for r in cache.rows("ddt", agent)} == {d["id"] for d in ddts}
    assert {r["invoiceid"] for r in cache.rows("invoices", agent)} == {d["number"] for d in invoices}
    assert done[0]["result"]["rows"] == len(ddts) and done[1]["result"]["rows"] == len(invoices)
    # Another agent's documents are not in this agent's cache
    assert cache.count("ddt", agents[3]) == 0


def test_a_delivery_note_pdf_is_fetched_stored_once_and_served(
    api: TestClient, client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[1]
    ddt = next(d for d in sim_documents(sim, agent, "ddt") if d["has_pdf"])
    # When the main app asks for it twice through the HTTP API
    first = client.wait(send_api(api, "download-ddt-pdf", agent, {"ddt": ddt["number"]}), 120)
    second = client.wait(send_api(api, "download-ddt-pdf", agent, {"ddt": ddt["number"]}), 120)
    # Then both name the same stored document, whose text is the ERP's delivery note
    assert first["status"] == second["status"] == "done", (first["error"], second["error"])
    result = first["result"]
    assert result["document_id"] == second["result"]["document_id"]
    got = api.get(f"/v1/documents/{result['document_id']}", headers=AUTH)
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    assert "attachment" in got.headers["content-disposition"]
    assert len(got.content) == result["bytes"] and got.content == client.document(result["document_id"])
    text = pdf_text(got.content)
    assert ddt["number"] in text and ddt["customer_name"] in text
    listed = api.get(f"/v1/operations/{first['id']}", headers=AUTH).json()["documents"]
    assert [d["document_id"] for d in listed] == [result["document_id"]]
    with client.db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM documents").fetchone()["n"] == 1


def test_an_invoice_without_pdf_says_so_and_one_not_the_agents_fails_at_once(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[4]
    no_pdf = next(d for d in sim_documents(sim, agent, "invoices") if not d["has_pdf"])
    with_pdf = next(d for d in sim_documents(sim, agent, "invoices") if d["has_pdf"])
    others = sim_documents(sim, agents[5], "invoices")[0]
    done = wait_all(client, [client.send("download-invoice-pdf", agent, {"invoice": d["number"]})
                             for d in (no_pdf, with_pdf, others)])
    assert done[0]["status"] == "done" and _without_timings(done[0]["result"]) == {"pdf": None}, done[0]
    assert done[1]["status"] == "done" and with_pdf["number"] in pdf_text(
        client.document(done[1]["result"]["document_id"]))
    assert done[2]["status"] == "failed" and others["number"] in (done[2]["error"] or "")
    assert done[2]["attempts"] == 1


def test_an_orders_lines_come_back_as_pdf_with_their_vat_totals(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[3]
    order = next(o for o in sim.orders(agent) if o["lines"])
    done = client.wait(client.send("order-lines-pdf", agent, {"order": order["id"]}), 120)
    assert done["status"] == "done", done["error"]
    result = done["result"]
    assert [(ln["article"], ln["quantity"]) for ln in result["lines"]] == [
        (ln["article"], ln["quantity"]) for ln in order["lines"]]
    assert result["total_with_vat"] > result["total_vat"] > 0
    assert pdf_text(client.document(result["document_id"]))


def test_a_list_suddenly_showing_40_percent_leaves_the_cache_and_one_lost_row_goes_on_the_second_miss(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[6]
    cache = Cache(client.db)
    first = client.wait(client.send("sync-customers", agent, {}), 120)
    assert first["status"] == "done", first["error"]
    held = cache.count("customers", agent)
    assert held == first["result"]["rows"] > 10
    # When the ERP's list suddenly shows 40 % of the agent's customers
    removed = sim.call("POST", "/__sim/remove", {"entity": "customers", "agent": agent, "keep": 0.4})["removed"]
    partial = client.wait(client.send("sync-customers", agent, {}), 120)
    # Then the sync fails saying what it saw, and the cache keeps every customer
    assert partial["status"] == "failed" and partial["attempts"] == 1, partial
    assert f"showed {held - len(removed)} rows but the cache holds {held}" in partial["error"]
    assert cache.count("customers", agent) == held
    # When instead a single customer disappears (the 40 % come back with a fresh simulator)
    sim.reset()
    client.wait(client.send("sync-customers", agent, {}), 120)
    one = sorted(r["accountnum"] for r in cache.rows("customers", agent))[len(removed) // 2]
    lost = sim.call("POST", "/__sim/remove", {"entity": "customers", "agent": agent,
                                              "keys": [one]})["removed"]
    assert lost == [one]
    accounts = lambda: {r["accountnum"] for r in cache.rows("customers", agent)}
    once = client.wait(client.send("sync-customers", agent, {}), 120)
    assert once["status"] == "done" and once["result"]["removed"] == 0 and lost[0] in accounts()
    twice = client.wait(client.send("sync-customers", agent, {}), 120)
    assert twice["status"] == "done" and twice["result"]["removed"] == 1 and lost[0] not in accounts()


def test_an_unchanged_list_is_not_walked_and_a_change_or_a_deletion_is_seen(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    # (The sentinel read even on a one-page list: the simulator's lists are short.)
    start_worker_processes(processes=1, threads=2, sync_skip_min_pages=1)
    agent = agents[7]
    walked = client.wait(client.send("sync-orders", agent, {}), 120)
    assert walked["status"] == "done" and walked["result"].get("skipped") is None
    # When nothing changed in the ERP
    again = client.wait(client.send("sync-orders", agent, {}), 120)
    # Then the list is not walked
    assert again["status"] == "done" and again["result"]["skipped"] == "unchanged", again
    assert again["result"]["pages"] == 0
    # When another user changes one of the agent's orders (deep in the list)
    order = sim.orders(agent)[-1]
    sim.call("POST", "/__sim/touch", {"entity": "orders", "agent": agent, "key": order["id"]})
    changed = client.wait(client.send("sync-orders", agent, {}), 120)
    assert changed["status"] == "done" and changed["result"].get("skipped") is None, changed
    # Customers have no MODIFIEDDATETIME: always walked
    customers = [client.wait(client.send("sync-customers", agent, {}), 120) for _ in range(2)]
    assert [c["result"].get("skipped") for c in customers] == [None, None]
    with client.db.connection() as conn:
        row = conn.execute("SELECT walks_total, skipped_total FROM sync_state"
                           " WHERE agent = %s AND op_type = 'sync-orders'", (agent,)).fetchone()
    assert (row["walks_total"], row["skipped_total"]) == (2, 1)


def test_a_batch_send_reports_each_order_also_one_already_sent_and_a_just_submitted_one(
    api: TestClient, client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    from tests.test_submit_order import order_for

    start_worker_processes(processes=1, threads=2)
    agent = agents[8]
    mine = sim.orders(agent)
    unsent = [o["id"] for o in mine if o["transfer_status"] == "Modifica"][:2]
    sent = next(o["id"] for o in mine if o["transfer_status"] != "Modifica")
    # Given a submit-order and, sent at once behind it, a batch naming it by its op id
    submit = client.send("submit-order", agent, order_for(sim, agent))
    batch = send_api(api, "send-to-verona", agent, {"orders": [*unsent, sent, submit, "999999"]})
    done = wait_all(client, [submit, batch], 240)
    assert [d["status"] for d in done] == ["done", "done"], [d["error"] for d in done]
    new_id = str(done[0]["result"]["order_id"])
    result = done[1]["result"]
    # Then each order has its own outcome, and the ERP holds exactly that
    assert sorted(result["sent"]) == sorted([*unsent, sent, new_id])
    assert result["not_found"] == ["999999"] and result["refs"] == {submit: new_id}
    outcomes = {k: v["outcome"] for k, v in result["orders"].items()}
    assert outcomes == {**{o: "sent" for o in [*unsent, new_id]}, sent: "already_sent", "999999": "not_found"}
    after = {o["id"]: o["transfer_status"] for o in sim.orders(agent)}
    assert all(after[o] != "Modifica" for o in [*unsent, new_id])
    assert sim.counters()["writes"].get("order_send") == 1


def test_check_vat_reads_the_erps_check_and_leaves_no_customer_and_no_form_behind(
    api: TestClient, client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    import random

    from erpsim.registry import registry_lookup, vat_is_valid
    from erpsim.seeding import vat_number

    start_worker_processes(processes=1, threads=2)
    agent = agents[9]
    customers = sim.state(include="customers")["customers"]
    taken = {c["vat_number"] for c in customers}
    rng = random.Random(16)
    vat = next(v for v in (vat_number(rng) for _ in range(10_000))
               if v not in taken and vat_is_valid(v) and registry_lookup(v) is not None)
    mine = next(c for c in customers if c["agent"] == agent)
    # (Reads queue behind the agent's writes, as syncs do: the create is sent once they ended.)
    done = wait_all(client, [send_api(api, "check-vat", agent, {"vat_number": f"IT{vat}"}),
                             client.send("check-vat", agent, {"vat_number": mine["vat_number"]})], 240)
    done.append(client.wait(client.send("create-customer", agent, {
        "name": "Studio Verdi", "vat_number": vat, "street": "Via Po 3", "zip": "10121",
        "city": "Torino", "email": "studio.verdi@pec.it"}), 240))
    assert [d["status"] for d in done] == ["done"] * 3, [d["error"] for d in done]
    registry = registry_lookup(vat)
    assert registry is not None
    checked = done[0]["result"]
    assert checked["valid"] is True, checked
    assert checked["name"] == registry["NAME"] and checked["checked_at"]
    assert (checked["street"], checked["zip"], checked["city"]) == (
        registry["STREET"], registry["LOGISTICSADDRESSZIPCODE"], registry["CITY"])
    assert done[1]["result"]["valid"] is False and done[1]["result"]["duplicate_of"]
    # Nothing saved by the checks: the only new customer is the one created after them
    after = sim.state(include="customers")["customers"]
    assert len(after) == len(customers) + 1
    assert [c["name"] for c in after if c["vat_number"] == vat] == ["Studio Verdi"]


def test_refresh_customer_caches_the_whole_record_with_its_addresses(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[0]
    customers = [c for c in sim.state(include="customers")["customers"] if c["agent"] == agent]
    target = next(c for c in customers if c["addresses"])
    other = next(c for c in sim.state(include="customers")["customers"] if c["agent"] != agent)
    done = wait_all(client, [client.send("refresh-customer", agent, {"customer": target["account"]}),
                             client.send("refresh-customer", agent, {"customer": other["account"]})], 240)
    assert done[0]["status"] == "done", done[0]["error"]
    record = done[0]["result"]
    assert record["account"] == target["account"] and record["blocked"] == target["blocked"]
    assert [a["id"] for a in record["addresses"]] == [str(a["id"]) for a in target["addresses"]]
    assert Cache(client.db).record("customer_records", agent, target["account"]) == _without_timings(record)
    # Another agent's customer: refused at once, naming it
    assert done[1]["status"] == "failed" and other["account"] in done[1]["error"]
    assert done[1]["attempts"] == 1


def test_a_one_page_list_is_walked_without_its_sentinel_and_a_new_delivery_note_is_seen(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[2]
    counts = [sim.counters()]
    first = client.wait(client.send("sync-ddt", agent, {}), 120)
    counts.append(sim.counters())
    # When it syncs again with nothing changed: the last walk took one page (fewer than
    # ARCHIBOT_SYNC_SKIP_MIN_PAGES), so it walks, reading no sentinel (no SortBy)
    again = client.wait(client.send("sync-ddt", agent, {}), 120)
    counts.append(sim.counters())
    assert first["status"] == again["status"] == "done", (first["error"], again["error"])
    assert first["result"]["pages"] == again["result"]["pages"] == 1
    assert again["result"].get("skipped") is None and again["result"]["rows"] == first["result"]["rows"]
    # When the ERP issues a new delivery note for the agent
    new = sim.call("POST", "/__sim/documents", {"kind": "ddt", "agent": agent})
    walked = client.wait(client.send("sync-ddt", agent, {}), 120)
    assert walked["status"] == "done" and walked["result"].get("skipped") is None, walked
    assert new["id"] in {r["id"] for r in Cache(client.db).rows("ddt", agent)}
    # The first walk read the sentinel too (nothing known yet), the second did not
    cost = [(b["requests"] + b["callbacks"]) - (a["requests"] + a["callbacks"])
            for a, b in itertools.pairwise(counts)]
    sorts = [b["sort_by"] - a["sort_by"] for a, b in itertools.pairwise(counts)]
    print(f"sync-ddt ERP requests+callbacks: first walk with sentinel {cost[0]}, warm walk without {cost[1]}")
    assert sorts[0] > 0 and sorts[1] == 0 and cost[1] < cost[0]


def test_the_price_list_and_line_discounts_sync_through_the_workers_and_a_skip_costs_less(
    client: Client, agents: list[str], sim: SimProcess, start_worker_processes: Any,
) -> None:
    start_worker_processes(processes=1, threads=2)
    agent = agents[1]
    state = sim.state(include="prices,line_discounts")
    before = sim.counters()
    walked = client.wait(client.send("sync-prices", agent, {}), 240)
    middle = sim.counters()
    skipped = client.wait(client.send("sync-prices", agent, {}), 240)
    after = sim.counters()
    assert walked["status"] == skipped["status"] == "done", (walked["error"], skipped["error"])
    # Both lists, shared by everyone, land in their caches; the first walk's counts per list
    cache = Cache(client.db)
    views = walked["result"]["views"]
    assert views["prices"]["rows"] == cache.count("prices") > 0
    assert views["line_discounts"]["rows"] == cache.count("line_discounts") > 0
    active = [p for p in state["prices"] if not p["closed"]]
    assert cache.count("prices") == len(active)
    # Nothing changed: the second is not walked, and costs the ERP fewer requests
    assert skipped["result"]["skipped"] == "unchanged"
    walk_cost = (middle["requests"] - before["requests"]) + (middle["callbacks"] - before["callbacks"])
    skip_cost = (after["requests"] - middle["requests"]) + (after["callbacks"] - middle["callbacks"])
    print(f"sync-prices ERP requests+callbacks: walk {walk_cost}, skip {skip_cost}")
    assert skip_cost < walk_cost
