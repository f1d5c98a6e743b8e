"""`python -m erpsim`: serve the Archibald simulator."""

from __future__ import annotations

import argparse
import json
import sys

from erpsim.config import (
    DEFAULT_AGENTS,
    DEFAULT_CUSTOMERS_PER_AGENT,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_PRODUCTS,
    DEFAULT_SEED,
    PROFILES,
    Faults,
    SimConfig,
)
from erpsim.errors import ConfigError
from erpsim.server import run, tls_context


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m erpsim", description="Archibald ERP simulator")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="fast")
    parser.add_argument(
        "--latency-ms", type=float, default=None, help="fixed latency per request and callback"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="divides every latency")
    parser.add_argument("--test-mode", action="store_true", help="open /__sim/ without a token")
    parser.add_argument("--admin-token", default=None)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--agents", type=int, default=DEFAULT_AGENTS)
    parser.add_argument("--customers-per-agent", type=int, default=DEFAULT_CUSTOMERS_PER_AGENT)
    parser.add_argument("--products", type=int, default=DEFAULT_PRODUCTS)
    parser.add_argument("--state-file", default=None)
    parser.add_argument("--session-expiry-s", type=float, default=None)
    parser.add_argument(
        "--faults", default=None, help='JSON, as PUT /__sim/faults, e.g. {"error_rate":0.05}'
    )
    parser.add_argument("--tls-cert", default=None, help="serve HTTPS: a PEM certificate (chain)")
    parser.add_argument("--tls-key", default=None, help="the PEM private key of --tls-cert")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    faults = Faults(seed=args.seed, latency_ms=args.latency_ms, speed=args.speed)
    if args.session_expiry_s is not None:
        faults.session_expiry_s = args.session_expiry_s
    if args.faults:
        faults.update(json.loads(args.faults))
    return SimConfig(
        seed=args.seed,
        agents=args.agents,
        customers_per_agent=args.customers_per_agent,
        products=args.products,
        profile=args.profile,
        test_mode=args.test_mode,
        admin_token=args.admin_token,
        state_file=args.state_file,
        faults=faults,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = config_from_args(args)
    except (ConfigError, ValueError) as exc:
        print(f"erpsim: {exc}", file=sys.stderr)
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("erpsim: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    except (OSError, ValueError) as exc:
        print(f"erpsim: cannot serve HTTPS with {args.tls_cert} and {args.tls_key}: {exc}", file=sys.stderr)
        return 2
    run(args.host, args.port, config, tls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
