"""The erp page objects against the real simulator in a real Chromium."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from erp.errors import ErpRejected, ErpUnavailable, LoginRejected, SessionExpired
from erp.orders import NewOrder, OrderLine, find_order_by_marker, submit_order
from erp.session import is_logged_in, login

AGENT = "agent01"
PASSWORD = "pw-agent01"


def _customer_and_articles(erp: Any) -> tuple[str, list[dict[str, Any]]]:
    state = erp.state("customers,products")
    customer = next(c["account"] for c in state["customers"] if c["agent"] == AGENT)
    multi = [p for p in state["products"] if len(p["variants"]) >= 2]
    return customer, multi


def test_login_and_is_logged_in(erp: Any, aio: Any, page: Any) -> None:
    async def flow() -> bool:
        await login(page, erp.url, AGENT, PASSWORD)
        return await is_logged_in(page, erp.url)

    assert aio.run(flow()) is True
    assert "Announcements_ListView" in page.url
    assert erp.counters()["logins"] == {AGENT: 1}


def test_wrong_password_is_rejected(erp: Any, aio: Any, page: Any) -> None:
    with pytest.raises(LoginRejected):
        aio.run(login(page, erp.url, AGENT, "wrong"))


def test_submit_order_creates_exactly_one_order(erp: Any, aio: Any, page: Any) -> None:
    # Given a customer of agent01 whose lines get the default 20 % (LINEDISC "Discount to get
    # street price") and an article with several packages
    customer, products = _customer_and_articles(erp)
    held = next(c for c in erp.state("customers")["customers"] if c["account"] == customer)
    assert held["line_discount"] == "Discount to get street price"
    product = products[0]
    biggest = max(v["package_content"] for v in product["variants"])
    quantity = float(biggest * 2)
    other = products[1]
    order = NewOrder(
        customer=customer,
        lines=(
            OrderLine(article=product["item_id"], quantity=quantity),
            OrderLine(
                article=other["item_id"],
                quantity=2.5,
                discount=10.0,
                variant=other["variants"][0]["variant"],
            ),
        ),
        notes="Consegna al mattino",
        delivery_date="2026-03-01",
    )
    checked: list[str] = []
    progress: list[str] = []

    async def before_commit() -> None:
        checked.append("lock")

    async def on_progress(text: str) -> None:
        progress.append(text)

    # When
    async def flow() -> tuple[str, float]:
        await login(page, erp.url, AGENT, PASSWORD)
        started = time.monotonic()
        order_id = await submit_order(
            page,
            erp.url,
            order,
            marker="AB-0123abcd",
            before_commit=before_commit,
            on_progress=on_progress,
        )
        return order_id, time.monotonic() - started

    order_id, elapsed_s = aio.run(flow())
    print(f"submit_order took {elapsed_s * 1000:.0f} ms")

    # Then the ERP holds exactly this new order
    assert order_id.isdigit()
    # the lock is checked before each line's UpdateEdit (each commits at once), each of the
    # three "Salvare" that clear the default line discount (the first shows LINEDISC's Clear
    # button, the next resets one line, the last the other) and the final save
    assert checked == ["lock"] * (2 + 3 + 1) and progress[-1] == f"order {order_id} saved"
    mine = [o for o in erp.orders(AGENT) if o["reference"] == "AB-0123abcd"]
    assert len(mine) == 1
    saved = mine[0]
    assert saved["id"] == order_id and saved["customer"] == customer
    assert saved["notes"] == "Consegna al mattino" and saved["delivery_date"] == "2026-03-01"
    biggest_variant = next(
        v["variant"] for v in product["variants"] if v["package_content"] == biggest
    )
    assert saved["lines"] == [
        {
            "article": product["item_id"],
            "variant": biggest_variant,
            "quantity": quantity,
            "discount": None,
            "line_percent": 0.0,
            "price": product["price"],
        },
        {
            "article": other["item_id"],
            "variant": other["variants"][0]["variant"],
            "quantity": 2.5,
            "discount": 10.0,
            "line_percent": 0.0,
            "price": other["price"],
        },
    ]
    # (the bot ends on the saved order's view: it read the order back)
    assert f"SALESTABLE_DetailViewAgent/{order_id}/?mode=View" in page.url
    assert erp.counters()["overlaps"] == 0

    # And find_order_by_marker finds it through the search box
    assert aio.run(find_order_by_marker(page, erp.url, "AB-0123abcd")) == order_id
    assert aio.run(find_order_by_marker(page, erp.url, "AB-ffffffff")) is None


def test_unknown_article_is_rejected_and_nothing_saved(erp: Any, aio: Any, page: Any) -> None:
    customer, products = _customer_and_articles(erp)
    before = len(erp.orders())
    order = NewOrder(
        customer=customer,
        lines=(OrderLine(products[0]["item_id"], 1), OrderLine("ZZ9.999.999", 1)),
    )

    async def flow() -> None:
        await login(page, erp.url, AGENT, PASSWORD)
        await submit_order(page, erp.url, order, marker="AB-unknown")

    with pytest.raises(ErpRejected) as info:
        aio.run(flow())
    assert info.value.field == "article"
    assert len(erp.orders()) == before


def test_unknown_customer_is_rejected(erp: Any, aio: Any, page: Any) -> None:
    _, products = _customer_and_articles(erp)
    order = NewOrder(customer="9999999", lines=(OrderLine(products[0]["item_id"], 1),))

    async def flow() -> None:
        await login(page, erp.url, AGENT, PASSWORD)
        await submit_order(page, erp.url, order, marker="AB-nocust")

    with pytest.raises(ErpRejected) as info:
        aio.run(flow())
    assert info.value.field == "customer"


def test_session_expired_mid_flow(erp: Any, aio: Any, page: Any) -> None:
    customer, products = _customer_and_articles(erp)
    order = NewOrder(customer=customer, lines=(OrderLine(products[0]["item_id"], 1),))

    async def on_progress(text: str) -> None:
        if text.startswith("customer"):
            erp.expire(AGENT)

    async def flow() -> None:
        await login(page, erp.url, AGENT, PASSWORD)
        await submit_order(page, erp.url, order, marker="AB-expired", on_progress=on_progress)

    with pytest.raises(SessionExpired):
        aio.run(flow())
    assert "Login.aspx" in page.url
    assert erp.orders(AGENT) and not [
        o for o in erp.orders(AGENT) if o["reference"] == "AB-expired"
    ]


def test_before_commit_failure_saves_nothing(erp: Any, aio: Any, page: Any) -> None:
    customer, products = _customer_and_articles(erp)
    order = NewOrder(customer=customer, lines=(OrderLine(products[0]["item_id"], 1),))

    async def lost_lock() -> None:
        raise RuntimeError("lock lost")

    async def flow() -> None:
        await login(page, erp.url, AGENT, PASSWORD)
        await submit_order(page, erp.url, order, marker="AB-nolock", before_commit=lost_lock)

    with pytest.raises(RuntimeError):
        aio.run(flow())
    assert not [o for o in erp.orders() if o["reference"] == "AB-nolock"]


def test_lost_response_commits_and_marker_finds_it(erp: Any, aio: Any, page: Any) -> None:
    # Given a save that commits on the server but loses its response
    customer, products = _customer_and_articles(erp)
    order = NewOrder(customer=customer, lines=(OrderLine(products[0]["item_id"], 1),))
    erp.set_faults(lost_response_rate=1.0)

    async def flow() -> None:
        await login(page, erp.url, AGENT, PASSWORD)
        await submit_order(page, erp.url, order, marker="AB-lost")

    # When the bot submits, it sees an error
    with pytest.raises(ErpUnavailable):
        aio.run(flow())

    # Then the order exists once, and check-before-retry finds it by its marker
    saved = [o for o in erp.orders(AGENT) if o["reference"] == "AB-lost"]
    assert len(saved) == 1
    assert aio.run(find_order_by_marker(page, erp.url, "AB-lost")) == saved[0]["id"]


def test_validation_banner_for_an_order_without_lines(erp: Any, aio: Any, page: Any) -> None:
    async def flow() -> str:
        await login(page, erp.url, AGENT, PASSWORD)
        await page.goto(erp.url + "SALESTABLE_DetailViewAgent/?NewObject=true")
        # "Salvare" is DXI1; its popout DXI1_P holds "Salva e chiudi" DXI1i1 (FACTS §2.18)
        await page.click("#Vertical_mainMenu_Menu_DXI1_P")
        await page.waitForSelector("#Vertical_mainMenu_Menu_DXI1i1_T", {"visible": True})
        await asyncio.gather(
            page.waitForNavigation(), page.click("#Vertical_mainMenu_Menu_DXI1i1_T")
        )
        text: str = await page.evaluate("document.querySelector('[id*=ErrorInfo]').textContent")
        return text

    assert "Data Validation Error" in aio.run(flow())
