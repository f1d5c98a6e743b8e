"""Delivery notes and invoices: their lists (empty until the date filter is clicked for real),
their PDFs, and an order's lines exported as PDF — against the simulator in a real Chromium."""

from __future__ import annotations

import hashlib
import io
from contextlib import aclosing
from typing import Any

import pytest
from pypdf import PdfReader

from erp import grid
from erp import selectors as sel
from erp.documents import download_ddt_pdf, download_invoice_pdf, order_lines_pdf
from erp.errors import ErpRejected
from erp.lists import iter_list
from erp.session import login
from erp.waits import wait_idle

AGENT = "agent01"
PASSWORD = "pw-agent01"


class FakeHooks:
    """Keeps what `store_document` is given, as the runtime's hooks would store it."""

    def __init__(self) -> None:
        self.stored: dict[str, tuple[bytes, str, str]] = {}

    async def store_document(self, content: bytes, filename: str, content_type: str) -> str:
        document_id = hashlib.sha256(content).hexdigest()[:16]
        self.stored[document_id] = (content, filename, content_type)
        return document_id


def _docs(erp: Any, kind: str, agent: str = AGENT) -> list[dict[str, Any]]:
    return erp.call("GET", f"/__sim/documents?agent={agent}")[kind]


def _text(content: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(content)).pages)


def _walk(aio: Any, page: Any, erp: Any, view: str) -> list[dict[str, str]]:
    async def flow() -> list[dict[str, str]]:
        await login(page, erp.url, AGENT, PASSWORD)
        rows: list[dict[str, str]] = []
        async with aclosing(iter_list(page, erp.url, view, page_size=10)) as pages:  # type: ignore[arg-type]
            async for list_page in pages:
                rows += list_page.rows
        return rows

    return aio.run(flow())


def test_documents_list_is_empty_until_its_filter_is_clicked(erp: Any, aio: Any, page: Any) -> None:
    # Given the delivery notes list opened the way every other list is
    async def flow() -> dict[str, Any]:
        await login(page, erp.url, AGENT, PASSWORD)
        await grid.open_list(page, erp.url, sel.DDT_LIST, fresh=True)
        name = await grid.list_grid(page, "test", "_LE_v5")
        before = await page.evaluate("(g) => window[g].GetVisibleRowsOnPage()", name)
        # When the filter is set by script, as on the other lists
        state = await grid.list_state(page, name, "test")
        all_value = next(i["value"] for i in state.items if i["value"].endswith("All"))
        await page.evaluate(
            "(c, v) => ASPxClientControl.GetControlCollection().GetByName(c).SetValue(v)",
            state.combo, all_value,
        )
        await wait_idle(page, "set value")
        after_set_value = await page.evaluate("(g) => window[g].GetVisibleRowsOnPage()", name)
        return {"before": before, "after": after_set_value, "items": state.items}

    got = aio.run(flow())

    # Then nothing shows: SetValue never reaches the server there
    assert got["before"] == 0 and got["after"] == 0
    assert [i["text"] for i in got["items"]] == ["Oggi", "Questa settimana", "Questo mese",
                                                 "Ultimi 3 mesi", "Tutti"]


def test_ddt_list_walked_completely_and_filter_put_back(erp: Any, aio: Any, page: Any) -> None:
    expected = {d["id"] for d in _docs(erp, "ddt")}

    rows = _walk(aio, page, erp, "ddt")

    assert len(expected) >= 12
    assert {r["id"] for r in rows} == expected and len(rows) == len(expected)
    by_id = {d["id"]: d for d in _docs(erp, "ddt")}
    first = rows[0]
    assert first["packingslipid"] == by_id[first["id"]]["number"]
    assert first["deliverydate"].startswith(by_id[first["id"]]["date"])
    assert first["invoicepdf.filename"] == ""


def test_invoices_list_walked_completely(erp: Any, aio: Any, page: Any) -> None:
    docs = {d["id"]: d for d in _docs(erp, "invoices")}

    rows = _walk(aio, page, erp, "invoices")

    assert {r["invoiceid"] for r in rows} == {d["number"] for d in docs.values()}
    row = next(r for r in rows if r["invoiceid"] == next(iter(docs.values()))["number"])
    doc = next(d for d in docs.values() if d["number"] == row["invoiceid"])
    assert float(row["invoiceamountmst"]) == pytest.approx(doc["total"])
    assert float(row["sumtaxmst"]) == pytest.approx(doc["vat"])


def _download(aio: Any, page: Any, erp: Any, fn: Any, payload: dict[str, str]) -> tuple[Any, FakeHooks]:
    hooks = FakeHooks()

    async def flow() -> Any:
        await login(page, erp.url, AGENT, PASSWORD)
        return await fn(page, erp.url, payload, hooks=hooks)

    return aio.run(flow()), hooks


def test_ddt_pdf_after_requested_objects_cannot_be_loaded(erp: Any, aio: Any, page: Any) -> None:
    # Given a delivery note whose first export fails (FACTS §8)
    doc = next(d for d in _docs(erp, "ddt") if d["has_pdf"] and d["export_failures"] == 1)

    result, hooks = _download(aio, page, erp, download_ddt_pdf, {"ddt": doc["number"]})

    content, filename, content_type = hooks.stored[result["document_id"]]
    assert result == {"document_id": result["document_id"], "filename": doc["filename"],
                      "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}
    assert content_type == "application/pdf" and filename == doc["filename"]
    text = _text(content)
    assert doc["number"] in text and doc["customer_name"] in text
    assert all(line["article"] in text for line in doc["lines"])
    assert next(d for d in _docs(erp, "ddt") if d["id"] == doc["id"])["export_failures"] == 0


def test_invoice_pdf_and_no_pdf(erp: Any, aio: Any, page: Any) -> None:
    with_pdf = next(d for d in _docs(erp, "invoices") if d["has_pdf"])
    without = next(d for d in _docs(erp, "invoices") if not d["has_pdf"])

    result, hooks = _download(aio, page, erp, download_invoice_pdf, {"invoice": with_pdf["number"]})
    none, _ = _download(aio, page, erp, download_invoice_pdf, {"invoice": without["number"]})

    text = _text(hooks.stored[result["document_id"]][0])
    assert with_pdf["number"] in text and "FATTURA" in text
    assert none == {"pdf": None}


def test_other_agents_ddt_is_rejected(erp: Any, aio: Any, page: Any) -> None:
    other = _docs(erp, "ddt", "agent02")[0]

    with pytest.raises(ErpRejected) as caught:
        _download(aio, page, erp, download_ddt_pdf, {"ddt": other["number"]})

    assert caught.value.field == "ddt" and other["number"] in str(caught.value)


def test_order_lines_pdf_matches_the_order(erp: Any, aio: Any, page: Any) -> None:
    order = next(o for o in erp.orders(AGENT) if o["lines"])

    result, hooks = _download(aio, page, erp, order_lines_pdf, {"order": order["id"]})

    assert result["order_id"] == order["id"] and result["document_id"] in hooks.stored
    assert [ln["article"] for ln in result["lines"]] == [ln["article"] for ln in order["lines"]]
    for got, want in zip(result["lines"], order["lines"], strict=True):
        assert got["quantity"] == pytest.approx(want["quantity"])
        assert got["price"] == pytest.approx(want["price"])
        assert got["discount"] == pytest.approx(want["discount"] or 0.0)
    net = sum(ln["amount"] for ln in result["lines"])
    assert net == pytest.approx(order["gross_amount"], abs=0.01)
    assert result["total_with_vat"] == pytest.approx(net + result["total_vat"], abs=0.01)
    assert result["total_vat"] > 0
