#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""py_busy - a busy, correct asyncio workload for lockwatch's overhead on
CPython (bench/run.sh, "python overhead").

    python3.11 bench/py_busy.py [SECONDS]

One thread, one event loop, never idle, so the program is CPU-bound on one
core:

  worker-N  50 tasks; each round takes the module-global asyncio.Lock lock
            and yields once while it holds it (so the others queue on it:
            the lock's waiter futures are used, not only its fast path),
            then hands a token to the asyncio.Queue queue (64 slots)
  sink-N    4 tasks taking the tokens off queue
  client-N  4 tasks doing 64-byte round trips through an echo server on
            127.0.0.1 (a port the kernel picks)

An operation is one worker round, one token taken or one round trip. At the
end one line "ops N" goes to stdout: operations per second over the measured
window (a float); stderr gets the split and the CPU share of the window.

Timeline: start-up (the server, the connections, the tasks), then 0.1 s of
load, then "ready PID" - to the file named by LW_READY_FILE (written aside,
then renamed, as tests/hang.c does), or to stderr when it is not set. If
LW_GO_FILE is set, the load then goes on until that file exists: the driver
attaches `lockwatch -p PID` after "ready" and creates the file once lockwatch
has attached and finished its start-up, however long that took. Then 0.5 s
of settling, and only then the measured window of SECONDS (default 3):
neither the attach nor lockwatch's first look at the process is inside it,
only the steady state. The program exits right after the window.
"""
import asyncio
import os
import sys
import time

# the ready line is tests/lwready.py's, shared with the test programs
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from lwready import say_ready as ready  # noqa: E402

WORKERS = 50
SINKS = 4
CLIENTS = 4
QUEUE_SLOTS = 64
MSG = b"lockwatch-py_busy-" + b"x" * 46  # 64 bytes
WARMUP_S = 0.1  # load before "ready"
SETTLE_S = 0.5  # after "ready" (and the go file) before the window opens
GO_POLL_S = 0.01

lock = asyncio.Lock()
queue = asyncio.Queue(QUEUE_SLOTS)
shared = 0  # what lock protects
counts = {"lock": 0, "queue": 0, "echo": 0}
tasks = []


async def worker(i):
    global shared
    while True:
        async with lock:
            before = shared
            await asyncio.sleep(0)
            if shared != before:
                sys.exit("py_busy: the lock let two tasks in")
            shared = before + 1
        await queue.put(i)
        counts["lock"] += 1


async def sink():
    while True:
        await queue.get()
        queue.task_done()
        counts["queue"] += 1


async def echo(reader, writer):
    while True:
        data = await reader.read(4096)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def client(reader, writer):
    while True:
        writer.write(MSG)
        await writer.drain()
        if await reader.readexactly(len(MSG)) != MSG:
            sys.exit("py_busy: the echo came back wrong")
        counts["echo"] += 1


async def setup():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for i in range(CLIENTS):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        tasks.append(asyncio.create_task(client(reader, writer), name="client-%d" % i))
    for i in range(SINKS):
        tasks.append(asyncio.create_task(sink(), name="sink-%d" % i))
    for i in range(WORKERS):
        tasks.append(asyncio.create_task(worker(i), name="worker-%d" % i))
    for t in tasks:
        t.add_done_callback(ended)
    return server


def failed(loop, ctx):
    sys.exit("py_busy: %s" % (ctx.get("exception") or ctx.get("message")))


def ended(task):
    """The tasks run forever: one that ends has failed."""
    exc = None if task.cancelled() else task.exception()
    sys.exit("py_busy: task %s ended: %r" % (task.get_name(), exc))


def total():
    return sum(counts.values())


class Run:
    def __init__(self, loop, seconds):
        self.loop = loop
        self.seconds = seconds
        self.go = os.environ.get("LW_GO_FILE")

    def running(self):
        try:
            ready()
        except OSError as e:
            sys.exit("py_busy: %s" % e)
        self.wait_go()

    def wait_go(self):
        if self.go and not os.path.exists(self.go):
            self.loop.call_later(GO_POLL_S, self.wait_go)
            return
        self.loop.call_later(SETTLE_S, self.open_window)

    def open_window(self):
        self.c0 = dict(counts)
        self.cpu0 = time.process_time()
        self.t0 = time.perf_counter()
        self.loop.call_later(self.seconds, self.close_window)

    def close_window(self):
        t = time.perf_counter() - self.t0
        cpu = time.process_time() - self.cpu0
        if not all(counts[k] > self.c0[k] for k in counts):
            sys.exit("py_busy: a kind of operation made no progress: %s" % counts)
        sys.stderr.write("py_busy: %s per s over %.3f s, %.0f%% of one CPU\n" % (
            ", ".join("%s %.0f" % (k, (counts[k] - self.c0[k]) / t) for k in counts),
            t, 100 * cpu / t))
        sys.stdout.write("ops %.1f\n" % ((total() - sum(self.c0.values())) / t))
        sys.stdout.flush()
        sys.stderr.flush()
        # The tasks run forever: leave without tearing them down (and without
        # the "Task was destroyed but it is pending" noise that would bring).
        os._exit(0)


def main():
    seconds = 3.0
    if len(sys.argv) > 2:
        sys.exit("usage: py_busy.py [SECONDS]")
    if len(sys.argv) == 2:
        try:
            seconds = float(sys.argv[1])
        except ValueError:
            seconds = 0
        if not seconds > 0:
            sys.exit("py_busy: SECONDS must be a positive number: %s" % sys.argv[1])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(failed)
    run = Run(loop, seconds)
    server = loop.run_until_complete(setup())
    loop.call_later(WARMUP_S, run.running)
    loop.run_forever()
    server.close()
    sys.exit("py_busy: the loop stopped before the window closed")


if __name__ == "__main__":
    main()
