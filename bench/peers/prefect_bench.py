"""Prefect 3 side of bench/peers (run by side-by-side.ts in the project-local venv).

  python prefect_bench.py serve                   # reads JSON requests, one a line, from stdin:
      {"what": "chain", "steps": 20}  |  {"what": "fanout", "tasks": 200, "concurrency": 16, "work_ms": 1000}
      and answers each with a line `RESULT {"wall_s": ...}` on stdout
  python prefect_bench.py durable --steps 20 --step-ms 300 --marks FILE [--persist]
  python prefect_bench.py state --flow-run ID     # prints `RESULT {"state": ...}`

Which API it talks to is Prefect's own setting: PREFECT_API_URL set → that (local) server;
unset → Prefect's ephemeral mode. `serve` stays up for the whole bench and runs one warm-up flow
of each kind first, so a figure is a flow run in a warm process (Python start-up, imports and the
ephemeral server's start excluded), as mlcycle's is a workflow run on a running server and worker:
the flow run's own fixed cost (creating the run, its state transitions) is included.
"""
import argparse
import asyncio
import json
import sys
import time

from prefect import flow, task
from prefect.cache_policies import INPUTS, NO_CACHE
from prefect.runtime import flow_run as flow_run_ctx
from prefect.task_runners import ThreadPoolTaskRunner


@task(cache_policy=NO_CACHE)
def noop(i: int) -> int:
    return i


@flow(name="bench-chain")
def chain(n: int) -> int:
    total = 0
    for i in range(n):
        total += noop(i)
    return total


@task(cache_policy=NO_CACHE)
def work(i: int, work_ms: int) -> int:
    time.sleep(work_ms / 1000)
    return i


def fanout_flow(concurrency: int):
    @flow(name="bench-fanout", task_runner=ThreadPoolTaskRunner(max_workers=concurrency))
    def fanout(n: int, work_ms: int) -> int:
        futures = work.map(range(n), work_ms=work_ms)
        return len([f.result() for f in futures])

    return fanout


def marked_step(marks: str, persist: bool):
    def body(i: int, step_ms: int) -> int:
        time.sleep(step_ms / 1000)
        with open(marks, "a") as f:
            f.write(f"{i}\n")
        return i

    if persist:
        return task(body, name="step", cache_policy=INPUTS, persist_result=True)
    return task(body, name="step", cache_policy=NO_CACHE)


def result(obj) -> None:
    print("RESULT " + json.dumps(obj), flush=True)


def serve() -> None:
    chain(2)
    result({"ready": True})
    fanouts = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if req["what"] == "chain":
            t0 = time.perf_counter()
            got = chain(req["steps"])
            wall = time.perf_counter() - t0
            assert got == sum(range(req["steps"])), got
        else:
            c = req["concurrency"]
            if c not in fanouts:
                fanouts[c] = fanout_flow(c)
                fanouts[c](2, 1)
            t0 = time.perf_counter()
            got = fanouts[c](req["tasks"], req["work_ms"])
            wall = time.perf_counter() - t0
            assert got == req["tasks"], got
        result({"wall_s": wall})


async def flow_run_state(flow_run_id: str) -> str:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        return run.state.type.value if run.state else "NONE"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["serve", "durable", "state"])
    p.add_argument("--flow-run")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--tasks", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--work-ms", type=int, default=1000)
    p.add_argument("--step-ms", type=int, default=300)
    p.add_argument("--marks")
    p.add_argument("--persist", action="store_true")
    a = p.parse_args()

    if a.what == "serve":
        serve()
    elif a.what == "state":
        result({"state": asyncio.run(flow_run_state(a.flow_run))})
    else:
        step = marked_step(a.marks, a.persist)

        @flow(name="bench-durable")
        def durable(n: int, step_ms: int) -> int:
            result({"flow_run": str(flow_run_ctx.id)})
            total = 0
            for i in range(n):
                total += step(i, step_ms)
            return total

        got = durable(a.steps, a.step_ms)
        result({"result": got})


if __name__ == "__main__":
    main()
