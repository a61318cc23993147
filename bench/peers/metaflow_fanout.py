"""Metaflow side of bench/peers: a foreach of TASKS (env, default 200) tasks of WORK_MS (env,
default 1000) ms each; run with `run --max-workers 16 --max-num-splits TASKS`."""
import os
import time

from metaflow import FlowSpec, step


class FanoutFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(int(os.environ.get("TASKS", "200"))))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        time.sleep(int(os.environ.get("WORK_MS", "1000")) / 1000)
        self.done = self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.count = len(list(inputs))
        self.next(self.end)

    @step
    def end(self):
        print(f"count={self.count}")


if __name__ == "__main__":
    FanoutFlow()
