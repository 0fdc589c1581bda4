"""How long the event loop stops while the feed-parsing processes start.

Starting them means a fork server (a new interpreter) importing the parsers. A 10 ms
ticker runs on the loop meanwhile; its longest wait beyond 10 ms is the loop's pause.
``--on-loop`` starts the pool on the loop itself, as workers did before it moved to a
thread. Each run is a fresh process (a pool starts once per process).

    .venv/bin/python bench/parse_pool_start.py [--on-loop] [--runs 3]
"""

import argparse
import asyncio
import json
import subprocess
import sys
import time

from streams.feeds.parsing import ParsePool


async def one_start(on_loop: bool) -> dict[str, float]:
    pauses: list[float] = []
    running = True

    async def ticker() -> None:
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            pauses.append(time.perf_counter() - before - 0.01)

    ticks = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    pool = ParsePool(2)
    if on_loop:
        pool._started()  # the blocking start, on the loop on purpose
    else:
        await pool.start()
    took = time.perf_counter() - started
    await asyncio.sleep(0.05)
    running = False
    await ticks
    pool.close()
    return {"start_s": took, "longest_loop_pause_s": max(pauses)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--on-loop", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(one_start(args.on_loop))))
        return
    for _ in range(args.runs):
        command = [sys.executable, __file__, "--one", *(["--on-loop"] * args.on_loop)]
        result = json.loads(subprocess.run(command, capture_output=True, text=True,
                                           check=True).stdout)
        print(f"pool start {result['start_s']:.2f} s, longest loop pause "
              f"{result['longest_loop_pause_s']:.2f} s")


if __name__ == "__main__":
    main()
