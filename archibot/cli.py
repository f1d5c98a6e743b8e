"""The ``archibot`` command line."""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from archibot.errors import ArchibotError
from archibot.operations import check_agent_name
from archibot.settings import Settings
from store.errors import StoreError
from store.states import Status


def _client(settings: Settings):  # type: ignore[no-untyped-def]
    from archibot.client import Client

    return Client(settings)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from store.db import Database

    db = Database(settings.database_url)
    applied = db.migrate()
    print("applied: " + ", ".join(applied) if applied else "the schema is up to date")
    db.close()
    return 0


def cmd_agents(args: argparse.Namespace, settings: Settings) -> int:
    client = _client(settings)
    try:
        if args.action == "add":
            check_agent_name(args.agent)
            password = args.password
            if password is None:
                if not sys.stdin.isatty():
                    password = sys.stdin.readline().rstrip("\n")
                else:
                    password = getpass.getpass(f"ERP password of {args.agent}: ")
            if not password:
                print("error: the password is empty", file=sys.stderr)
                return 2
            client.agents.add(args.agent, password, username=args.username)
            print(f"stored the ERP credentials of {args.agent}")
        else:
            for agent in client.agents.names():
                print(agent)
    finally:
        client.close()
    return 0


def cmd_send(args: argparse.Namespace, settings: Settings) -> int:
    try:
        payload = json.loads(args.payload)
    except json.JSONDecodeError as exc:
        print(f"error: --payload is not JSON: {exc}", file=sys.stderr)
        return 2
    client = _client(settings)
    try:
        op_id = client.send(args.op_type, args.agent, payload, idempotency_key=args.idempotency_key)
        print(op_id)
        if args.wait:
            status = client.wait(op_id, args.wait)
            print(json.dumps(status, indent=2))
            return 0 if status["status"] == Status.DONE else 1
    finally:
        client.close()
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from archibot.client import status_dict

    client = _client(settings)
    try:
        breakers = None
        logins = None
        if args.op_id:
            rows = [client.status(args.op_id)]
        else:
            rows = [status_dict(r) for r in client.reports.recent(args.limit)]
            breakers = client.breakers()
            logins = client.logins()
    finally:
        client.close()
    if args.json:
        print(json.dumps(rows[0] if args.op_id else rows, indent=2))
        return 0
    if breakers is not None:
        erp = breakers["erp"]
        if erp["open"]:
            print(f"ERP breaker OPEN for {erp['down_s']:.0f} s ({erp['probes']} probes failed): "
                  "workers claim nothing until the ERP answers")
        else:
            print(f"ERP breaker closed (transport errors in a row: {erp['errors']})")
        for entry in breakers["logins"]:
            print(f"login breaker OPEN for {entry['agent']} since {entry['since']}: {entry['error']}"
                  f" — fix with: archibot agents add {entry['agent']}")
    if logins is not None:
        print(_logins_line(logins))
        for line in _budget_alarms(logins):
            print(line)
    for row in rows:
        outcome = row["error"] if row["status"] == Status.FAILED else (json.dumps(row["result"]) if row["result"] else "")
        if row.get("waiting"):
            outcome = row["waiting"]["message"]
        print(f"{row['id']}  {row['agent']:<10} {row['op_type']:<15} {row['status']:<8} "
              f"attempts={row['attempts']} {outcome}")
    return 0


def _logins_line(logins: dict[str, Any]) -> str:
    """One line: ERP logins per agent in the budget's window, against the budget."""
    hours = logins["window_s"] / 3600
    budget = logins["budget_per_day"] or "no budget"
    counts = ", ".join(f"{name} {v['in_window']}" for name, v in logins["agents"].items()) or "none"
    return f"ERP logins in the last {hours:g} h (budget {budget} per agent): {counts}"


def _budget_alarms(logins: dict[str, Any]) -> list[str]:
    """The login budgets that are spent, each with when it returns and how to give it back."""
    lines = []
    for name in logins["spent"]:
        v = logins["budgets"][name]
        lines.append(f"login budget SPENT for {name} ({v['used']}/{logins['budget_per_day']}) "
                     f"until {v['spent_until']}: its operations wait; if the ERP is fine, give "
                     f"it back with: archibot logins --reset {name}")
    address = logins["address"]
    if address["spent_until"] is not None:
        lines.append(f"login budget SPENT for the address (all agents: {address['used']}/"
                     f"{address['budget']} a window, {address['used_minute']}/"
                     f"{address['budget_minute']} a minute) until {address['spent_until']}: "
                     "give it back with: archibot logins --reset-address")
    return lines


def cmd_logins(args: argparse.Namespace, settings: Settings) -> int:
    """ERP logins per agent per day, and in the budget's window; or give a budget back."""
    client = _client(settings)
    try:
        if args.reset or args.reset_address:
            operator = os.environ.get("ARCHIBOT_OPERATOR") or getpass.getuser()
            for agent in [*(args.reset or []), *([None] if args.reset_address else [])]:
                woken = client.reset_login_budget(agent, operator, args.note)
                print(f"login budget of {agent or 'the address'} given back by {operator}"
                      f"{f' ({args.note})' if args.note else ''}: {woken} waiting operations "
                      "made ready")
        logins = client.logins(args.days)
    finally:
        client.close()
    if args.json:
        print(json.dumps(logins, indent=2))
        return 0
    print(_logins_line(logins))
    address = logins["address"]
    print(f"  address (all agents): {address['used']}/{address['budget'] or 'no budget'} in the "
          f"window{' (auto: 4 per agent)' if address['auto'] else ''}, "
          f"{address['used_minute']}/{address['budget_minute'] or 'no budget'} in the last minute")
    for line in _budget_alarms(logins):
        print(line)
    for name, v in logins["agents"].items():
        days = ", ".join(f"{day}: {n}" for day, n in v["per_day"].items())
        unreached = f"  (+{v['unreached']} never reached the ERP, not counted)" if v["unreached"] else ""
        print(f"  {name:<12} {days}{unreached}")
    for r in logins["resets"]:
        note = f": {r['note']}" if r["note"] else ""
        print(f"  reset {r['at']} {r['agent'] or '(address)'} by {r['operator']}{note}")
    return 0


def cmd_rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    """Re-encrypt every stored password and session with the newest key."""
    keys = settings.secret_key_list()
    client = _client(settings)
    try:
        passwords, sessions = client.agents.rotate_keys()
    finally:
        client.close()
    print(f"re-encrypted {passwords} passwords and {sessions} sessions with the newest of "
          f"{len(keys)} keys; once every process runs with it, the older keys can be removed")
    return 0


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    from archibot.api.app import serve
    from archibot.logs import configure_logging

    configure_logging(settings)
    settings.check_secret_key()
    serve(settings, host=args.host, port=args.port)
    return 0


def cmd_tokens(args: argparse.Namespace, settings: Settings) -> int:
    from store.db import Database
    from store.tokens import TokenStore

    db = Database(settings.database_url)
    try:
        tokens = TokenStore(db)
        if args.action == "add":
            print(tokens.add(args.name))
            print(f"the API token {args.name!r} above is shown only this once", file=sys.stderr)
        elif args.action == "remove":
            if not tokens.remove(args.name):
                print(f"error: no token named {args.name!r}", file=sys.stderr)
                return 1
            print(f"revoked the API token {args.name!r}")
        else:
            for name in tokens.names():
                print(name)
    finally:
        db.close()
    return 0


def cmd_resend(args: argparse.Namespace, settings: Settings) -> int:
    client = _client(settings)
    try:
        print(f"re-sent {client.resend_pending(args.older_than)} pending operations")
    finally:
        client.close()
    return 0


def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    from store.db import Database
    from store.retention import Retention

    days = settings.journal_retention_days if args.older_than_days is None else args.older_than_days
    db = Database(settings.database_url)
    retention, deleted = Retention(db), 0
    try:
        while True:  # each call is a bounded number of batches; the CLI drains them all
            pruned = retention.prune(days, key_retention_s=settings.idempotency_retention_s)
            deleted += pruned.deleted
            if not pruned.more:
                break
    finally:
        db.close()
    print(f"pruned {deleted} ended operations older than {days} days")
    return 0


def cmd_document(args: argparse.Namespace, settings: Settings) -> int:
    """Write a stored document (a download's ``result.document_id``) to a file, or stdout."""
    client = _client(settings)
    try:
        content = client.document(args.document_id)
    finally:
        client.close()
    if args.out == "-":
        sys.stdout.buffer.write(content)
    else:
        with open(args.out, "wb") as out:
            out.write(content)
        print(f"wrote {len(content)} bytes to {args.out}", file=sys.stderr)
    return 0


#: The distributions behind ``archibot sim``, ``demo`` and ``bench``, by top-level package: the
#: simulator and the development tools are not in the `archibot` wheel (the client).
_DEV_DISTRIBUTIONS = {"erpsim": "archibot-erpsim", "archibot_devtools": "archibot-devtools"}


def _dev_module(command: str, name: str) -> ModuleType:
    """Import ``name`` from its development distribution, or say which one ``command`` needs."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        package = name.split(".")[0]
        if exc.name != package:
            raise  # the distribution is there and one of its own dependencies is missing
        raise ArchibotError(
            f"`archibot {command}` needs the {_DEV_DISTRIBUTIONS[package]} distribution, which "
            f"`pip install archibot` (the client) does not include: `./dev` installs it, or from "
            f"a checkout `pip install -e ./{package}`") from exc


def cmd_sim(args: argparse.Namespace, settings: Settings) -> int:
    sim_main = _dev_module("sim", "erpsim.__main__").main

    argv = ["--host", args.host, "--port", str(args.port), "--profile", args.profile]
    if args.test_mode:
        argv.append("--test-mode")
    if args.latency_ms is not None:
        argv += ["--latency-ms", str(args.latency_ms)]
    if args.agents is not None:
        argv += ["--agents", str(args.agents)]
    if args.admin_token:
        argv += ["--admin-token", args.admin_token]
    if args.faults:
        argv += ["--faults", args.faults]
    if args.tls_cert:
        argv += ["--tls-cert", args.tls_cert, "--tls-key", args.tls_key or ""]
    return int(sim_main(argv) or 0)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    run_demo = _dev_module("demo", "archibot_devtools.demo").run_demo

    return int(run_demo(settings, agents=args.agents, orders_per_agent=args.orders,
                        profile=args.profile, processes=args.processes, lines=args.lines))


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    bench_main = _dev_module("bench", "archibot_devtools.bench").main

    return int(bench_main(args, settings))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archibot", description="Browser automation for the Archibald ERP.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply the database migrations").set_defaults(func=cmd_migrate)

    agents = sub.add_parser("agents", help="store or list agents' ERP credentials")
    agents_sub = agents.add_subparsers(dest="action", required=True)
    add = agents_sub.add_parser("add", help="store an agent's ERP credentials (prompts for the password)")
    add.add_argument("agent")
    add.add_argument("--password", help="the ERP password (prompted for when not given)")
    add.add_argument("--username", help="the ERP account name (default: the agent name)")
    agents_sub.add_parser("list", help="list the agents with stored credentials")
    agents.set_defaults(func=cmd_agents)

    send = sub.add_parser("send", help="send an operation; prints its id")
    send.add_argument("op_type")
    send.add_argument("--agent", required=True)
    send.add_argument("--payload", default="{}", help="the payload as JSON")
    send.add_argument("--wait", type=float, metavar="SECONDS", help="wait for the outcome and print it")
    send.add_argument("--idempotency-key", metavar="KEY",
                      help="send at most once: the same key again prints the first operation's id")
    send.set_defaults(func=cmd_send)

    api = sub.add_parser("api", help="serve the HTTP API, its dashboard and metrics")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8080),
                     help="default: $PORT, else 8080")
    api.set_defaults(func=cmd_api)

    tokens = sub.add_parser("tokens", help="make, list or revoke API bearer tokens")
    tokens_sub = tokens.add_subparsers(dest="action", required=True)
    tokens_sub.add_parser("add", help="make a token; prints it once (only its hash is kept)").add_argument("name")
    tokens_sub.add_parser("remove", help="revoke a token").add_argument("name")
    tokens_sub.add_parser("list", help="list the tokens' names")
    tokens.set_defaults(func=cmd_tokens)

    status = sub.add_parser("status", help="show one operation, or the latest ones")
    status.add_argument("op_id", nargs="?")
    status.add_argument("--json", action="store_true")
    status.add_argument("--limit", type=int, default=20)
    status.set_defaults(func=cmd_status)

    logins = sub.add_parser("logins", help="ERP logins per agent per day, against the login budget")
    logins.add_argument("--days", type=int, default=7)
    logins.add_argument("--json", action="store_true")
    logins.add_argument("--reset", metavar="AGENT", action="append",
                        help="give AGENT its login budget back (journaled; for an operator who "
                             "knows the ERP is fine); repeatable")
    logins.add_argument("--reset-address", action="store_true",
                        help="give the address (all agents together) its login budget back")
    logins.add_argument("--note", default=None, help="why, journaled with the reset")
    logins.set_defaults(func=cmd_logins)

    rotate = sub.add_parser(
        "rotate-key", help="re-encrypt stored credentials and sessions with the newest key "
        "(ARCHIBOT_SECRET_KEYS=new,old…)")
    rotate.set_defaults(func=cmd_rotate_key)

    resend = sub.add_parser("resend", help="re-send wake-ups for pending operations whose message may be lost")
    resend.add_argument("--older-than", type=float, default=90.0, metavar="SECONDS")
    resend.set_defaults(func=cmd_resend)

    prune = sub.add_parser("prune", help="delete ended operations older than the journal's retention")
    prune.add_argument("--older-than-days", type=int, default=None, metavar="DAYS",
                       help="default: ARCHIBOT_JOURNAL_RETENTION_DAYS")
    prune.set_defaults(func=cmd_prune)

    document = sub.add_parser("document", help="write a document the workers fetched (a PDF) to a file")
    document.add_argument("document_id")
    document.add_argument("--out", "-o", default="-", metavar="FILE", help="default: stdout")
    document.set_defaults(func=cmd_document)

    sim = sub.add_parser("sim", help="serve the Archibald simulator")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8085)
    sim.add_argument("--profile", choices=("fast", "realistic"), default="realistic")
    sim.add_argument("--latency-ms", type=int)
    sim.add_argument("--agents", type=int)
    sim.add_argument("--admin-token")
    sim.add_argument("--test-mode", action="store_true", help="open /__sim/ without a token; show passwords")
    sim.add_argument("--faults", help='JSON as PUT /__sim/faults, e.g. {"login_limit": 48}')
    sim.add_argument("--tls-cert", help="serve HTTPS: a PEM certificate (chain); with --tls-key")
    sim.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    sim.set_defaults(func=cmd_sim)

    demo = sub.add_parser("demo", help="the main job on the embedded default: simulator, workers, orders")
    demo.add_argument("--agents", type=int, default=4)
    demo.add_argument("--orders", type=int, default=3, help="orders per agent")
    demo.add_argument("--profile", choices=("fast", "realistic"), default="realistic")
    demo.add_argument("--processes", type=int, default=2)
    demo.add_argument("--lines", type=int, default=None,
                      help="lines per order, e.g. 40 for a long order (default: 1 to 3 at random)")
    demo.set_defaults(func=cmd_demo)

    bench = sub.add_parser("bench", help="measure scheduling, safety and cost; prints one JSON object")
    bench.add_argument("--agents", type=int, default=30)
    bench.add_argument("--ops-per-agent", type=int, default=5)
    bench.add_argument("--processes", type=int, default=2)
    bench.add_argument("--threads", type=int, default=5)
    bench.add_argument("--latency-ms", type=int, default=150, help="fixed ERP latency per request and callback")
    bench.add_argument("--profile", choices=("fast", "realistic"),
                       help="the simulator's latency profile instead of a fixed --latency-ms")
    bench.add_argument("--faults", default=None, help="JSON as the simulator's /__sim/faults")
    bench.add_argument("--seed", type=int, default=1)
    bench.add_argument("--kill-at-s", type=float, default=None,
                       help="SIGKILL the worker group this long into the burst, then start a new one")
    bench.add_argument("--term-at-s", type=float, default=None,
                       help="SIGTERM the worker group (all of it) this long into the burst, then start a new one")
    bench.add_argument("--no-handoff", action="store_true", help="turn fast handoff off, to compare")
    bench.add_argument("--mix", choices=("all", "orders"), default="all",
                       help="all: every operation type (default); orders: submit-order only")
    bench.add_argument("--timeout-s", type=float, default=None,
                       help="wait this long for the operations after the last is sent (default 1800); then "
                       "print what ended, timed_out and pending, and exit 3")
    bench.add_argument("--duration-s", type=float, default=None,
                       help="instead of a burst: send at --rate for this long, then wait for the tail; "
                       "the JSON gains `steady` (samples of the workers' memory, contexts, newPage time)")
    bench.add_argument("--rate", type=float, default=20.0,
                       help="--duration-s: operations per minute, evenly spaced, the burst's mix")
    bench.add_argument("--sample-s", type=float, default=30.0, help="--duration-s: seconds between samples")
    bench.add_argument("--day", action="store_true",
                       help="instead of a burst: a simulated working day under the freshness "
                       "scheduler (ERP requests and logins per agent per day, syncs skipped)")
    bench.add_argument("--hours", type=float, default=10.0, help="--day: ERP hours to simulate")
    bench.add_argument("--speedup", type=int, default=50, help="--day: ERP time per wall second")
    bench.add_argument("--tick-s", type=float, default=2.0, help="--day: wall seconds between ticks")
    bench.add_argument("--cap", type=int, default=None,
                       help="--day: ARCHIBOT_BACKGROUND_SYNCS_MAX for the run")
    bench.add_argument("--journal", action="store_true",
                       help="instead of a burst: the journal's statements against a long history "
                       "(archibot_devtools/journal_bench.py)")
    bench.add_argument("--journal-agents", type=int, default=1000, help="--journal: agents")
    bench.add_argument("--done-rows", type=int, default=2_000_000, help="--journal: ended rows")
    bench.add_argument("--pending-rows", type=int, default=10_000, help="--journal: pending rows")
    bench.add_argument("--samples", type=int, default=60, help="--journal: samples per statement")
    bench.add_argument("--store", default=None, metavar="DIR",
                       help="--journal: import the store package from DIR (e.g. main's, to compare)")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        return int(args.func(args, settings))
    except (ArchibotError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
