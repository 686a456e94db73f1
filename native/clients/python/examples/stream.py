#!/usr/bin/env python3
"""stream.py URL MODEL PROMPT MAX_TOKENS

Streams a completion: prints each token as it arrives, then, as the last line,
    finish=<reason> tokens=<n> ttft_us=<n> total_us=<n>
where tokens is the Result's completion_tokens and ttft_us / total_us are measured here,
from just before the request is sent to the first token / the Result (client-side), as
colo_stream (C++) does. Exit: 0 on a Result, 1 on an Error frame, 2 on a connection failure.
The API key, if any, comes from COLO_API_KEY.

    PYTHONPATH=native/clients/python python3 native/clients/python/examples/stream.py \
        ws://127.0.0.1:8080/v1/ws stories260K "Once upon a time" 32
"""

import os
import sys
import time

from colo_client import Client, ColoError, Request, Sampling, TransportError, finish_reason_name


def main(argv):
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    url, model, prompt, max_tokens = argv[1], argv[2], argv[3], int(argv[4])
    try:
        with Client.connect(url, api_key=os.environ.get("COLO_API_KEY")) as client:
            req = Request(id="stream-1", model=model, prompt=prompt, sampling=Sampling(max_tokens=max_tokens))
            t0 = time.monotonic_ns()
            first = None
            for token in client.stream(req):
                if first is None:
                    first = time.monotonic_ns()
                sys.stdout.write(token.text)
                sys.stdout.flush()
            total = (time.monotonic_ns() - t0) // 1000
            ttft = (first - t0) // 1000 if first is not None else total
            r = client.last_result
            print(f"\nfinish={finish_reason_name(r.finish_reason)} tokens={r.usage.completion_tokens} ttft_us={ttft} total_us={total}")
        return 0
    except ColoError as e:
        print(f"error {e.code.name}: {e.message}", file=sys.stderr)
        return 1
    except TransportError as e:
        print(f"connection {e.kind}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
