"""Delivery notes (CUSTPACKINGSLIPJOUR) and invoices (CUSTINVOICEJOUR): records, seeding, PDFs.

Each agent gets a deterministic handful to a few dozen of each, drawn from the seed and tied to
the agent's own orders and customers. Some have no PDF (their file anchor reads "N/A"); some
delivery notes answer their first PDF export with "Requested objects cannot be loaded" (FACTS
§8, BOT:10768-10776), deterministically per document. PDFs are real (fpdf2), a few KB, with
the document number, customer, lines and totals as text a PDF reader extracts.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from fpdf import FPDF

from erpsim.model import Order, OrderLine

if TYPE_CHECKING:
    from erpsim.state import SimState

DocKind = Literal["ddt", "invoice"]
#: The first ids and numbers, as the live lists show them (dump: DDT ID 53368, invoice 9913).
FIRST_DDT_ID = 53_000
FIRST_INVOICE_ID = 9_800
FIRST_NUMBER = 26_000_100
MIN_DOCS_PER_AGENT = 12
MAX_DOCS_PER_AGENT = 30
#: The error a delivery note's export may answer before it works (FACTS §8).
OBJECTS_NOT_LOADED = "Requested objects cannot be loaded."
#: VAT rates by article (most articles 22 %, some medical devices 10 %, a few 4 %).
VAT_RATES = (22.0, 22.0, 22.0, 10.0, 4.0)
PAYMENT_TERMS = ("Bonifico 30 gg d.f.", "Ri.Ba. 60 gg f.m.", "Rimessa diretta")


def vat_rate(article: str) -> float:
    """An article's VAT percent: fixed per article, the same in every PDF."""
    return VAT_RATES[sum(article.encode()) % len(VAT_RATES)]


@dataclass
class DocLine:
    """One line of a document: article, description, quantity, net price, discount %."""

    article: str
    description: str
    quantity: float
    price: float
    discount: float

    @property
    def amount(self) -> float:
        return round(self.quantity * self.price * (1 - self.discount / 100.0), 2)

    @property
    def vat_percent(self) -> float:
        return vat_rate(self.article)

    def to_json(self) -> dict[str, Any]:
        return {
            "article": self.article,
            "description": self.description,
            "quantity": self.quantity,
            "price": self.price,
            "discount": self.discount,
            "amount": self.amount,
            "vat_percent": self.vat_percent,
        }


@dataclass
class Document:
    """A delivery note or an invoice of one agent."""

    kind: DocKind
    id: int
    agent: str
    #: PACKINGSLIPID ("DDT/26000101") or INVOICEID ("CFT/26000101").
    number: str
    order_id: int
    sales_id: str
    customer: str
    customer_name: str
    address: str
    #: DELIVERYDATE / INVOICEDATE, ISO.
    date: str
    lines: list[DocLine] = field(default_factory=list)
    has_pdf: bool = True
    #: PDF exports still to answer OBJECTS_NOT_LOADED before one works.
    export_failures: int = 0
    tracking: str = ""
    payment_term: str = PAYMENT_TERMS[0]
    credit_days: int = 30
    settled: float = 0.0
    modified: float = 0.0

    @property
    def net(self) -> float:
        return round(sum(line.amount for line in self.lines), 2)

    @property
    def vat(self) -> float:
        return round(sum(round(line.amount * line.vat_percent / 100, 2) for line in self.lines), 2)

    @property
    def total(self) -> float:
        return round(self.net + self.vat, 2)

    @property
    def quantity(self) -> float:
        return sum(line.quantity for line in self.lines)

    @property
    def filename(self) -> str:
        return self.number.replace("/", "_") + ".pdf"

    @property
    def due_date(self) -> str:
        return (dt.date.fromisoformat(self.date) + dt.timedelta(days=self.credit_days)).isoformat()

    def touch(self) -> None:
        """The record changed: MODIFIEDDATETIME moves on (never backwards, never equal)."""
        self.modified = max(time.time(), self.modified + 1.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": str(self.id),
            "agent": self.agent,
            "number": self.number,
            "order_id": str(self.order_id),
            "sales_id": self.sales_id,
            "customer": self.customer,
            "customer_name": self.customer_name,
            "date": self.date,
            "lines": [line.to_json() for line in self.lines],
            "has_pdf": self.has_pdf,
            "export_failures": self.export_failures,
            "filename": self.filename,
            "net": self.net,
            "vat": self.vat,
            "total": self.total,
            "modified": self.modified,
        }


class DocumentStore:
    """Every agent's delivery notes and invoices (rebuilt from the seed on every reseed)."""

    def __init__(self) -> None:
        self.by_kind: dict[DocKind, dict[int, Document]] = {"ddt": {}, "invoice": {}}
        self.next_id: dict[DocKind, int] = {"ddt": FIRST_DDT_ID, "invoice": FIRST_INVOICE_ID}
        self.next_number = FIRST_NUMBER

    @classmethod
    def seeded(cls, seed: int, state: SimState) -> DocumentStore:
        """Documents for every agent's orders, the same for the same seed (and day)."""
        store = cls()
        rng = random.Random(f"documents-{seed}")
        today = dt.date.today()
        for agent in sorted(state.agents):
            orders = [o for o in state.orders.values() if o.agent == agent]
            customers = state.customers_by_agent.get(agent, [])
            if not customers:
                continue
            count = rng.randrange(MIN_DOCS_PER_AGENT, MAX_DOCS_PER_AGENT + 1)
            for n in range(count):
                order = orders[n % len(orders)] if orders else None
                customer = (
                    state.customers_by_account.get(order.customer or "") if order else None
                ) or customers[n % len(customers)]
                day = today - dt.timedelta(days=0 if n == 0 else rng.randrange(1, 200))
                lines = _lines(rng, state, order)
                for kind in ("ddt", "invoice"):
                    store.add(
                        kind,
                        agent=agent,
                        order_id=order.id if order else 0,
                        sales_id=(order.sales_id if order else "") or f"ORD/{26_000_000 + n}",
                        customer=customer.account,
                        customer_name=customer.name,
                        address=f"{customer.street}, {customer.zip_code} {customer.city}",
                        date=day.isoformat(),
                        lines=doc_lines(state, lines),
                        has_pdf=n % 5 != 3,
                        export_failures=1 if kind == "ddt" and n % 3 == 1 else 0,
                        tracking=f"TRK{rng.randrange(10**8, 10**9)}" if kind == "ddt" else "",
                        payment_term=PAYMENT_TERMS[n % len(PAYMENT_TERMS)],
                        credit_days=(30, 60, 0)[n % 3],
                        modified=time.mktime(day.timetuple()) + 3600 + n,
                    )
        return store

    def add(self, kind: DocKind, **fields: Any) -> Document:
        """A new document with the next id and number of its kind."""
        prefix = "DDT" if kind == "ddt" else "CFT"
        doc = Document(
            kind=kind,
            id=self.next_id[kind],
            number=fields.pop("number", None) or f"{prefix}/{self.next_number}",
            **fields,
        )
        self.next_id[kind] += 1
        self.next_number += 1
        if not doc.modified:
            doc.touch()
        self.by_kind[kind][doc.id] = doc
        return doc

    def of_agent(self, kind: DocKind, agent: str, search: str = "") -> list[Document]:
        """The agent's documents, newest first, optionally matching a search text."""
        rows = sorted(
            (d for d in self.by_kind[kind].values() if d.agent == agent),
            key=lambda d: (d.date, d.id),
            reverse=True,
        )
        needle = search.strip().lower()
        if not needle:
            return rows
        return [d for d in rows if needle in _haystack(d)]

    def find(self, kind: DocKind, key: str) -> Document | None:
        """By id or by number."""
        if key.isdigit() and int(key) in self.by_kind[kind]:
            return self.by_kind[kind][int(key)]
        return next((d for d in self.by_kind[kind].values() if d.number == key), None)

    def to_json(self, agent: str | None = None) -> dict[str, list[dict[str, Any]]]:
        return {
            ("ddt" if kind == "ddt" else "invoices"): [
                d.to_json() for d in docs.values() if agent is None or d.agent == agent
            ]
            for kind, docs in self.by_kind.items()
        }


def _haystack(doc: Document) -> str:
    return " ".join(
        (str(doc.id), doc.number, doc.sales_id, doc.customer, doc.customer_name)
    ).lower()


def _lines(rng: random.Random, state: SimState, order: Order | None) -> list[OrderLine]:
    if order is not None and order.lines:
        return list(order.lines)
    picks = rng.sample(state.products, k=min(len(state.products), rng.randrange(1, 4)))
    return [
        OrderLine(p.item_id, p.variants[0].variant_id if p.variants else p.item_id,
                  float(rng.randrange(1, 20)), float(rng.choice((0, 10, 20))), p.price_eur)
        for p in picks
    ]


def doc_lines(state: SimState, lines: list[OrderLine]) -> list[DocLine]:
    """An order's lines as document lines (description from the catalogue)."""
    out = []
    for line in lines:
        product = state.products_by_id.get(line.article)
        out.append(DocLine(line.article, product.name if product else "", line.quantity,
                           line.price_eur, line.discount or 0.0))
    return out


# -- PDFs ------------------------------------------------------------------------------------


def number_text(value: float, italian: bool, places: int = 2) -> str:
    """A number as the ERP's reports print it in the page's culture ("1.234,50" / "1,234.50")."""
    text = f"{value:,.{places}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".") if italian else text


def _pdf(made_at: float) -> FPDF:
    """A page to write on, dated when its record last changed: the same record gives the
    same bytes (the live ERP's stored PDFs do not change between two downloads)."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(dt.datetime.fromtimestamp(made_at or 0, dt.UTC))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    return pdf


def _line(pdf: FPDF, text: str, size: int = 9, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", size)
    pdf.cell(0, 5, text.encode("latin-1", "replace").decode("latin-1"),
             new_x="LMARGIN", new_y="NEXT")


def _line_row(pdf: FPDF, n: int, line: DocLine, italian: bool) -> None:
    """Line `n` as both PDFs print it (a document's and the order lines export): number,
    article, description, quantity, price, discount, amount, VAT, in the page's culture."""
    _line(pdf, " ".join((
        str(n), line.article, line.description or "-",
        number_text(line.quantity, italian), number_text(line.price, italian),
        number_text(line.discount, italian) + " %", number_text(line.amount, italian),
        number_text(line.vat_percent, italian) + " %",
    )))


def _rows_and_totals(
    pdf: FPDF, lines: list[DocLine], italian: bool, totals: tuple[tuple[str, float], ...],
    unit: str = "",
) -> None:
    """Both PDFs' body: a row per line, a blank line, then the totals in bold
    ("label: amount[ unit]")."""
    for n, line in enumerate(lines, 1):
        _line_row(pdf, n, line, italian)
    _line(pdf, "")
    for text, amount in totals:
        _line(pdf, f"{text}: {number_text(amount, italian)}{unit}", bold=True)


def document_pdf(doc: Document, italian: bool = True) -> bytes:
    """The PDF the ERP keeps for a delivery note or an invoice."""
    pdf = _pdf(doc.modified)
    title = "DOCUMENTO DI TRASPORTO" if doc.kind == "ddt" else "FATTURA"
    _line(pdf, f"{title} {doc.number}", 14, bold=True)
    _line(pdf, f"Data: {doc.date}")
    _line(pdf, f"Cliente: {doc.customer} {doc.customer_name}")
    _line(pdf, f"Indirizzo: {doc.address}")
    _line(pdf, f"Ordine: {doc.sales_id}")
    _line(pdf, "")
    totals = (
        ("Totale imponibile", doc.net), ("Totale IVA", doc.vat), ("Totale documento", doc.total)
    )
    _rows_and_totals(pdf, doc.lines, italian, totals, " EUR")
    return bytes(pdf.output())


def order_lines_pdf(order: Order, lines: list[DocLine], italian: bool = True) -> bytes:
    """The SALESLINEs grid exported to PDF (lines toolbar DXI1): one row per line with its VAT,
    then the VAT total and the total with VAT."""
    pdf = _pdf(order.changed or order.created)
    _line(pdf, f"Righe di vendita - Ordine {order.id}", 12, bold=True)
    _line(pdf, "N. Articolo Descrizione Quantita Prezzo Sconto Importo IVA")
    net = 0.0
    vat = 0.0
    for line in lines:
        net += line.amount
        vat += round(line.amount * line.vat_percent / 100, 2)
    totals = (
        ("Totale imponibile", round(net, 2)),
        ("Totale IVA", round(vat, 2)),
        ("Totale con IVA", round(net + vat, 2)),
    )
    _rows_and_totals(pdf, lines, italian, totals)
    return bytes(pdf.output())
