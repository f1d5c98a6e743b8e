"""Measure ``POST /v1/operations``: throughput and latency percentiles, with asyncio + httpx.

    python examples/api_load.py --url http://127.0.0.1:8080 --token T --agent agent01 \
        --requests 2000 --concurrency 32

Each request is a valid submit-order with its own Idempotency-Key (so each makes an
operation: journal row, key row, Redis message). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import httpx

ORDER = {"customer": "1002305", "lines": [{"article": "H1.314.016", "quantity": 5}]}


async def run(args: argparse.Namespace) -> dict[str, object]:
    latencies_ms: list[float] = []
    codes: dict[int, int] = {}
    todo = iter(range(args.requests))
    headers = {"Authorization": f"Bearer {args.token}"}
    body = {"type": "submit-order", "agent": args.agent, "payload": ORDER}
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)

    async with httpx.AsyncClient(base_url=args.url, headers=headers, limits=limits, timeout=30) as client:
        async def one_worker() -> None:
            for _ in todo:
                started = time.perf_counter()
                r = await client.post("/v1/operations", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
                latencies_ms.append((time.perf_counter() - started) * 1000)
                codes[r.status_code] = codes.get(r.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one_worker() for _ in range(args.concurrency)))
        elapsed_s = time.perf_counter() - started
    ordered = sorted(latencies_ms)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)

    return {
        "tool": "examples/api_load.py (asyncio + httpx)",
        "requests": len(ordered), "concurrency": args.concurrency, "status_codes": codes,
        "elapsed_s": round(elapsed_s, 2), "requests_per_s": round(len(ordered) / elapsed_s, 1),
        "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": round(ordered[-1], 1),
                       "mean": round(statistics.fmean(ordered), 1)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--token", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
