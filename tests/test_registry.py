"""The registry drives the workers: actors, executors, limits and results all come from it."""

from __future__ import annotations

import dataclasses

import pytest
from dramatiq.brokers.stub import StubBroker

from actors import executors, operation_actors
from actors.services import WorkerProcess
from archibot.operations import OPERATION_TYPES, ORDER_REF_TYPES, Kind, operation_type
from archibot.results import Result
from archibot.settings import Settings


def test_one_actor_per_registered_type_on_one_queue() -> None:
    # Given a broker and a worker process that has not booted
    broker = StubBroker()
    process = WorkerProcess(Settings(queue="q-test"))
    # When the operation actors are registered
    actors = operation_actors.register(broker, process)
    # Then there is one per type, named after it, on the settings' queue
    assert sorted(actors) == sorted(t.actor_name for t in OPERATION_TYPES.values())
    assert set(broker.get_declared_actors()) == set(actors)
    for name, actor in actors.items():
        assert actor.queue_name == "q-test"
        assert operation_type(name.replace("_", "-")).summary in (actor.fn.__doc__ or "")


def test_every_type_has_an_executor_in_the_erp_layer_and_a_result_model() -> None:
    for kind in OPERATION_TYPES.values():
        module = kind.executor.partition(":")[0]
        assert module.startswith("erp."), kind.executor
        assert callable(executors.executor_for(kind))
        assert issubclass(kind.result, Result)
        assert (kind.kind is Kind.SYNC) == bool(kind.sync_views) == (kind.sync_view is not None)


def test_the_order_references_and_the_time_limits_come_from_the_entries() -> None:
    assert set(ORDER_REF_TYPES) == {"edit-order", "delete-order", "send-to-verona", "order-lines-pdf"}
    settings = Settings(op_timeout_s=100, op_timeout_per_line_s=10, op_timeouts="delete-order=7")
    lines = {"lines": [{}, {}, {}]}
    assert operation_type("submit-order").time_limit_for(settings, lines) == 130
    assert operation_type("delete-order").time_limit_for(settings, lines) == 7
    assert operation_type("sync-products").time_limit_for(settings) == 1_800
    assert operation_type("create-customer").time_limit_for(settings, lines) == 100


def test_an_unknown_type_names_the_known_ones() -> None:
    with pytest.raises(Exception, match="known: submit-order"):
        operation_type("submit-orders")


def test_an_entry_naming_no_erp_function_stops_the_boot(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a registry entry whose executor does not exist
    broken = dataclasses.replace(operation_type("delete-order"), name="delete-orders",
                                 executor="erp.operations:delete_orders")
    monkeypatch.setitem(OPERATION_TYPES, broken.name, broken)
    # When the worker registers its actors, Then it refuses to boot, naming the function
    with pytest.raises(AttributeError, match="delete_orders"):
        operation_actors.register(StubBroker(), WorkerProcess(Settings()))
