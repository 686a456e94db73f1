#!/usr/bin/env python3
"""The Python SDK's side of bench/e2e/sdk-roundtrip.ts (which runs it; not a bench on its own).

    sdk-roundtrip.py URL ping|classify COUNT WARMUP SAMPLES_FILE [MODEL TEXT]

Closed loop, one round trip at a time on one AsyncClient connection; writes every round
trip in ns, one a line, to SAMPLES_FILE.
"""

import asyncio
import sys
import time

from colo_client import AsyncClient, Request


async def main(url, mode, count, warmup, out, model="fin-sentiment", text="$TSLA downgraded to sell at Goldman"):
    samples = []
    async with await AsyncClient.connect(url) as c:
        for i in range(warmup + count):
            t0 = time.monotonic_ns()
            if mode == "ping":
                await c.ping()
            else:
                r = await c.complete(Request(id=f"b{i}", model=model, prompt=text, stream=False))
                if not r.signals:
                    raise SystemExit("classifier Result without a signal")
            if i >= warmup:
                samples.append(time.monotonic_ns() - t0)
    with open(out, "w") as f:
        f.write("\n".join(str(x) for x in samples) + "\n")


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(a[0], a[1], int(a[2]), int(a[3]), a[4], *a[5:]))
