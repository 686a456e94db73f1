#!/usr/bin/env python3
"""classify.py URL CLASSIFIER HEADLINE

Classifies one headline with a classifier model served by Colo and prints its typed signal,
as colo_classify (C++) does:
    ticker=TSLA direction=bearish score=-0.98 confidence=0.98 label=bearish abstain=false rtt_us=900
"""

import asyncio
import os
import sys
import time

from colo_client import AsyncClient, ColoError, Request, TransportError


async def main(url, model, text):
    async with await AsyncClient.connect(url, api_key=os.environ.get("COLO_API_KEY")) as c:
        t0 = time.monotonic_ns()
        r = await c.complete(Request(id="clf-1", model=model, prompt=text, stream=False))
        rtt = (time.monotonic_ns() - t0) // 1000
    if not r.signals:
        print(f"the Result carries no signal (is {model} a classifier?)", file=sys.stderr)
        return 1
    for s in r.signals:
        print(
            f"ticker={s.ticker or '-'} direction={s.direction.name.lower()} score={s.score:.6g} "
            f"confidence={s.confidence:.6g} label={s.label} abstain={str(s.abstain).lower()} rtt_us={rtt}"
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print("usage: classify.py URL CLASSIFIER HEADLINE", file=sys.stderr)
        sys.exit(2)
    try:
        sys.exit(asyncio.run(main(*sys.argv[1:])))
    except ColoError as e:
        print(f"error {e.code.name}: {e.message}", file=sys.stderr)
        sys.exit(1)
    except TransportError as e:
        print(f"connection {e.kind}: {e}", file=sys.stderr)
        sys.exit(2)
