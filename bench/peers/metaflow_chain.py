"""Metaflow side of bench/peers: the 20-step chain (start, step01..step18, end), local runtime.
Written out step by step because Metaflow reads the graph from the source. MARKS (env) names a
file each step appends its index to (the kill -9 comparison); STEP_MS (env) makes each step sleep.
Generated; keep the steps identical."""
import os
import time

from metaflow import FlowSpec, step


def mark(i: int) -> None:
    ms = int(os.environ.get("STEP_MS", "0"))
    if ms:
        time.sleep(ms / 1000)
    marks = os.environ.get("MARKS")
    if marks:
        with open(marks, "a") as f:
            f.write(f"{i}\n")


class ChainFlow(FlowSpec):
    @step
    def start(self):
        mark(0)
        self.next(self.step01)

    @step
    def step01(self):
        mark(1)
        self.next(self.step02)

    @step
    def step02(self):
        mark(2)
        self.next(self.step03)

    @step
    def step03(self):
        mark(3)
        self.next(self.step04)

    @step
    def step04(self):
        mark(4)
        self.next(self.step05)

    @step
    def step05(self):
        mark(5)
        self.next(self.step06)

    @step
    def step06(self):
        mark(6)
        self.next(self.step07)

    @step
    def step07(self):
        mark(7)
        self.next(self.step08)

    @step
    def step08(self):
        mark(8)
        self.next(self.step09)

    @step
    def step09(self):
        mark(9)
        self.next(self.step10)

    @step
    def step10(self):
        mark(10)
        self.next(self.step11)

    @step
    def step11(self):
        mark(11)
        self.next(self.step12)

    @step
    def step12(self):
        mark(12)
        self.next(self.step13)

    @step
    def step13(self):
        mark(13)
        self.next(self.step14)

    @step
    def step14(self):
        mark(14)
        self.next(self.step15)

    @step
    def step15(self):
        mark(15)
        self.next(self.step16)

    @step
    def step16(self):
        mark(16)
        self.next(self.step17)

    @step
    def step17(self):
        mark(17)
        self.next(self.step18)

    @step
    def step18(self):
        mark(18)
        self.next(self.end)

    @step
    def end(self):
        mark(19)


if __name__ == "__main__":
    ChainFlow()
