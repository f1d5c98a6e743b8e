"""The aiohttp application of the simulator."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from erpsim import (
    dxr,
    urls,
    views_admin,
    views_auth,
    views_customer,
    views_find,
    views_lists,
    views_order,
)
from erpsim.config import SimConfig
from erpsim.middleware import archibald
from erpsim.sim import SIM_KEY, Sim

STATIC_DIR = Path(__file__).parent / "static"


async def _favicon(request: web.Request) -> web.Response:
    return web.Response(status=204)


def make_app(config: SimConfig) -> web.Application:
    """Build the simulator: Archibald pages under /Archibald/, admin API under /__sim/."""
    app = web.Application(middlewares=[views_admin.admin_guard, archibald])
    app[SIM_KEY] = Sim(config)
    router = app.router
    router.add_route("*", urls.LOGIN, views_auth.login)
    router.add_get(urls.BASE, views_auth.default)
    router.add_get("/Archibald", views_auth.default)
    router.add_route("*", urls.DEFAULT, views_find.default)
    router.add_get(urls.LOGOUT, views_auth.logout)
    router.add_get(urls.ANNOUNCEMENTS, views_lists.announcements)
    for path in views_lists.SPECS:
        router.add_route("*", path, views_lists.list_view)
    router.add_get(urls.MASTER_DATA, _master_data)
    router.add_route("*", urls.ORDER_DETAIL, views_order.order_detail)
    router.add_route("*", urls.ORDER_DETAIL + r"{order_id:\d+}/", views_order.order_detail)
    router.add_route("*", urls.CUSTOMER_DETAIL, views_customer.customer_detail)
    router.add_route(
        "*", urls.CUSTOMER_DETAIL + r"{customer_id:\d+}/", views_customer.customer_detail
    )
    router.add_get(views_customer.ERROR_PAGE, views_customer.error_page)
    router.add_post(r"/__sim/customers/{customer_id:\d+}", views_customer.admin_customer)
    router.add_static(urls.STATIC, STATIC_DIR)
    router.add_get(urls.DXR, dxr.dxr)
    router.add_get("/favicon.ico", _favicon)
    views_admin.add_routes(app)
    return app


async def _master_data(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(urls.PRODUCTS)
