#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""pyhealthy - busy, correct Python 3.11 programs, for lockwatch's tests.

    pyhealthy.py MODE [SECONDS]

None of them deadlocks: lockwatch must never report them (true negatives).
Each runs SECONDS (default 5) and exits 0; 1 when it made no progress.  The
asyncio modes run on the main thread alone.

  rlock        threads "worker-N" (4) take the module-global threading.RLock
               shared and take it again while holding it, under contention
  join         the main thread starts 4 threads "joiner-N" at a time that
               take the module-global threading.Lock work_lock briefly, and
               joins them (not holding it), batch after batch
  ordered      tasks "worker-N" (20) take the module-global asyncio locks
               lock_a then lock_b, always in that order, with random idle gaps
               between and inside; task "nester" takes them in the same order
               and holds both 0.5 s at a time; thread "thread-nester" takes
               the module-global threading locks tlock_a then tlock_b and holds
               both 0.5 s at a time, 0.1 s apart
  idle         tasks waiting for something that does not come (yet):
               "cond-waiter" in Condition.wait(), "queue-getter" in
               Queue.get(), "event-waiter" in Event.wait(), "sleeper" in
               asyncio.sleep(3600)
  byhand       task "holder" takes the module-global asyncio lock lock with
               acquire() and holds it 1.5 s at a time (released in a finally);
               tasks "waiter-1" and "waiter-2" wait for it with "async with"
  relock       locks held nearly all the time, let go and taken again in
               a loop: task "renewer" takes the module-global asyncio lock
               lease_lock for 0.4 s at a time, thread "flusher" the
               module-global threading lock log_lock for 0.4 s at a time,
               each at the same line every time round (no long hold)
  futures      futures that complete, round after round: on a
               ThreadPoolExecutor of 2 threads ("worker_0", "worker_1") the
               main task runs slow() (0.3 s) and outer(), which submits
               inner() to the same pool and waits for it: inner() is queued
               behind slow(), busy but not stuck, and then runs; then a
               worker runs via_loop(), which waits for the coroutine nap()
               (an asyncio.sleep) sent to the main thread's loop with
               run_coroutine_threadsafe(); the main task awaits both
  chunks       a loop kept busy, never stalled: task "cruncher" computes in
               steps of about 20 ms and gives the loop back after each
               (await asyncio.sleep(0)); task "ticker" wakes every 10 ms
  swap         task "pairs" holds a Pair's two asyncio locks, pair.a then
               pair.b, for 0.4 s, then drops the Pair and makes new ones until
               the allocator hands the new locks the old ones' memory swapped
               (.a where .b was), round after round; counts and prints those
               rounds ("swaps N")
  reenter      thread "reenterer" takes the module-global threading.RLock
               rlock, then the Lock tlock_a, sleeps 0.3 s, then calls a
               function that takes rlock again and sleeps 0.3 s: one order,
               rlock then tlock_a
  server-idle  an echo server on 127.0.0.1 (a free port) that nobody calls
  server-busy  the same echo server and 4 tasks "client-N" doing round trips
               as fast as they can; the handlers ("echo-N") count them under
               the module-global asyncio lock stats_lock; prints the round
               trips per second to stderr

Environment:
  LW_READY_FILE=PATH  once the load runs (after about 0.3 s), write
                      "ready PID" on one line to PATH (atomically: written
                      aside, then renamed); without it, the line goes to stderr

Nothing goes to stdout: lockwatch shares it with the command it runs.
"""

import asyncio
import concurrent.futures
import random
import sys
import threading
import time

from lwready import say_ready

# The locks and other objects of the modes, created by the mode that uses them.
shared = None           # rlock
work_lock = None        # join
lock_a = None           # ordered
lock_b = None           # ordered
tlock_a = None          # ordered
tlock_b = None          # ordered
cond = None             # idle
queue = None            # idle
event = None            # idle
lock = None             # byhand
stats_lock = None       # server-busy

# Progress: rounds done, by worker (or task) name.
rounds = {}


# --- saying ready ---

def say_ready_soon():
    """Says ready from a timer callback of the running loop, 0.3 s from now."""
    asyncio.get_running_loop().call_later(0.3, say_ready)


def report(mode, seconds):
    """Prints the rounds to stderr; returns the exit status: 1 without any."""
    total = sum(rounds.values())
    detail = ", ".join(f"{name} {n}" for name, n in rounds.items())
    print(f"pyhealthy {mode}: {total} rounds in {seconds:g} s ({detail})",
          file=sys.stderr)
    return 0 if total > 0 else 1


async def run_tasks(coros, seconds):
    """Runs coros as tasks named by the keys of coros for seconds, then
    cancels them and waits for them to finish."""
    tasks = [asyncio.create_task(coro, name=name)
             for name, coro in coros.items()]
    say_ready_soon()
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- rlock: a reentrant lock re-entered by its owner, under contention ---

def rlock_work(deadline):
    name = threading.current_thread().name
    rounds[name] = 0
    while time.monotonic() < deadline:
        with shared:
            with shared:
                sum(range(100))
                rounds[name] += 1


def rlock_main(seconds):
    global shared

    shared = threading.RLock()
    deadline = time.monotonic() + seconds
    workers = [threading.Thread(target=rlock_work, args=(deadline,),
                                name=f"worker-{i}")
               for i in range(1, 5)]
    for t in workers:
        t.start()
    time.sleep(0.3)
    say_ready()
    for t in workers:
        t.join()
    return report("rlock", seconds)


# --- join: threads joined while they take a lock the joiner does not hold ---

def join_work():
    name = threading.current_thread().name
    for _ in range(20):
        with work_lock:
            rounds[name] = rounds.get(name, 0) + 1
        time.sleep(0.005)


def join_main(seconds):
    global work_lock

    work_lock = threading.Lock()
    deadline = time.monotonic() + seconds
    ready_at = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        with work_lock:
            rounds["main"] = rounds.get("main", 0) + 1
        workers = [threading.Thread(target=join_work, name=f"joiner-{i}")
                   for i in range(1, 5)]
        for t in workers:
            t.start()
        if ready_at and time.monotonic() >= ready_at:
            say_ready()
            ready_at = None
        for t in workers:
            t.join()
    return report("join", seconds)


# --- ordered: two asyncio locks, always taken in the same order ---

async def idle_gap():
    await asyncio.sleep(random.uniform(0, 0.02))


async def ordered_work(name):
    rounds[name] = 0
    while True:
        await idle_gap()
        async with lock_a:
            await idle_gap()
            async with lock_b:
                await idle_gap()
                rounds[name] += 1
            await idle_gap()


async def nest_work():
    rounds["nester"] = 0
    while True:
        async with lock_a:
            async with lock_b:
                await asyncio.sleep(0.5)
        rounds["nester"] += 1
        await asyncio.sleep(0.1)


def thread_nest_work(deadline):
    rounds["thread-nester"] = 0
    while time.monotonic() < deadline:
        with tlock_a:
            with tlock_b:
                time.sleep(0.5)
        rounds["thread-nester"] += 1
        time.sleep(0.1)


async def ordered_main(seconds):
    global lock_a, lock_b, tlock_a, tlock_b

    lock_a = asyncio.Lock()
    lock_b = asyncio.Lock()
    tlock_a = threading.Lock()
    tlock_b = threading.Lock()
    nester = threading.Thread(target=thread_nest_work, args=(time.monotonic() + seconds,),
                              name="thread-nester")
    nester.start()
    coros = {f"worker-{i}": ordered_work(f"worker-{i}") for i in range(1, 21)}
    coros["nester"] = nest_work()
    await run_tasks(coros, seconds)
    await asyncio.get_running_loop().run_in_executor(None, nester.join)
    return report("ordered", seconds)


# --- idle: tasks waiting for things that may still come ---

async def wait_cond():
    async with cond:
        await cond.wait()


async def get_item():
    await queue.get()


async def wait_event():
    await event.wait()


async def sleep_long():
    await asyncio.sleep(3600)


async def idle_main(seconds):
    global cond, queue, event

    cond = asyncio.Condition()
    queue = asyncio.Queue()
    event = asyncio.Event()
    await run_tasks({"cond-waiter": wait_cond(),
                     "queue-getter": get_item(),
                     "event-waiter": wait_event(),
                     "sleeper": sleep_long()}, seconds)
    return 0


# --- byhand: a lock taken by hand and held long, by a live task ---

async def hold_by_hand():
    rounds["holder"] = 0
    while True:
        await lock.acquire()
        try:
            rounds["holder"] += 1
            await asyncio.sleep(1.5)
        finally:
            lock.release()
        await asyncio.sleep(0.01)


async def wait_turn(name):
    rounds[name] = 0
    while True:
        async with lock:
            await asyncio.sleep(0)
            rounds[name] += 1
        await asyncio.sleep(0.01)


async def byhand_main(seconds):
    global lock

    lock = asyncio.Lock()
    await run_tasks({"holder": hold_by_hand(),
                     "waiter-1": wait_turn("waiter-1"),
                     "waiter-2": wait_turn("waiter-2")}, seconds)
    return report("byhand", seconds)


# --- server-idle, server-busy: an echo server ---

round_trips = 0
handlers = []           # the tasks running echo(), one per connection


async def echo(reader, writer):
    global round_trips

    handlers.append(asyncio.current_task())
    handlers[-1].set_name(f"echo-{len(handlers)}")
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            async with stats_lock:
                count = round_trips
                await asyncio.sleep(0)
                round_trips = count + 1
            writer.write(line)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def client(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            writer.write(b"ping\n")
            await writer.drain()
            await reader.readline()
    finally:
        writer.close()


async def server_main(seconds, busy):
    global stats_lock

    stats_lock = asyncio.Lock()
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"pyhealthy: echo server on 127.0.0.1:{port}", file=sys.stderr)
    async with server:
        if busy:
            await run_tasks({f"client-{i}": client(port)
                             for i in range(1, 5)}, seconds)
            # The clients closed their connections: the handlers end.
            await asyncio.gather(*handlers)
        else:
            say_ready_soon()
            await asyncio.sleep(seconds)
    if not busy:
        return 0
    print(f"pyhealthy server-busy: {round_trips} round trips in {seconds:g} s,"
          f" {round_trips / seconds:.0f} per second", file=sys.stderr)
    return 0 if round_trips > 0 else 1


# --- relock: locks held most of the time, but let go every 0.4 s ---

async def renew():
    rounds["renewer"] = 0
    while True:
        async with lease_lock:
            await asyncio.sleep(0.4)
        rounds["renewer"] += 1


def flush(deadline):
    rounds["flusher"] = 0
    while time.monotonic() < deadline:
        with log_lock:
            time.sleep(0.4)
        rounds["flusher"] += 1


async def relock_main(seconds):
    global lease_lock, log_lock

    lease_lock = asyncio.Lock()
    log_lock = threading.Lock()
    flusher = threading.Thread(target=flush, args=(time.monotonic() + seconds,),
                               name="flusher")
    flusher.start()
    await run_tasks({"renewer": renew()}, seconds)
    await asyncio.get_running_loop().run_in_executor(None, flusher.join)
    return report("relock", seconds)


# --- futures: work items wait for futures that complete ---

def slow():
    time.sleep(0.3)


def inner():
    time.sleep(0.2)


def outer(pool):
    return pool.submit(inner).result()


async def nap():
    await asyncio.sleep(0.2)


def via_loop(loop):
    return asyncio.run_coroutine_threadsafe(nap(), loop).result()


async def futures_main(seconds):
    loop = asyncio.get_running_loop()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="worker")
    deadline = time.monotonic() + seconds
    rounds["main"] = 0
    say_ready_soon()
    while time.monotonic() < deadline:
        await asyncio.gather(loop.run_in_executor(pool, slow),
                             loop.run_in_executor(pool, outer, pool))
        await loop.run_in_executor(pool, via_loop, loop)
        rounds["main"] += 1
    pool.shutdown()
    return report("futures", seconds)


# --- swap: locks of dropped objects come back at each other's addresses ---

class Pair:
    def __init__(self):
        self.a = asyncio.Lock()
        self.b = asyncio.Lock()


async def pairs_work():
    rounds["pairs"] = 0
    swaps = 0
    pair = Pair()
    try:
        while True:
            async with pair.a:
                async with pair.b:
                    await asyncio.sleep(0.4)
            before = (id(pair.a), id(pair.b))
            # made again until the allocator hands the locks each other's
            # memory (it gives the last freed out first)
            for attempt in range(64):
                del pair
                # a spare lock or two, now and then, shifts what is handed out
                spare = [asyncio.Lock() for _ in range(attempt % 3)]
                pair = Pair()
                del spare
                if (id(pair.a), id(pair.b)) == (before[1], before[0]):
                    swaps += 1
                    break
            rounds["pairs"] += 1
    finally:
        print(f"pyhealthy swap: swaps {swaps}", file=sys.stderr)


async def swap_main(seconds):
    await run_tasks({"pairs": pairs_work()}, seconds)
    return report("swap", seconds)


# --- reenter: an RLock taken again in an inner frame ---

shared_rlock = None     # reenter


def reenter_inner():
    with shared_rlock:
        time.sleep(0.3)


def reenter_work(deadline):
    rounds["reenterer"] = 0
    while time.monotonic() < deadline:
        with shared_rlock:
            with tlock_a:
                time.sleep(0.3)
                reenter_inner()
        rounds["reenterer"] += 1


def reenter_main(seconds):
    global shared_rlock, tlock_a

    shared_rlock = threading.RLock()
    tlock_a = threading.Lock()
    t = threading.Thread(target=reenter_work, args=(time.monotonic() + seconds,),
                         name="reenterer")
    t.start()
    time.sleep(0.3)
    say_ready()
    while t.is_alive():
        t.join(0.05)
    return report("reenter", seconds)


# --- chunks: CPU-bound work that gives the loop back often ---

async def crunch_chunks():
    rounds["cruncher"] = 0
    while True:
        end = time.monotonic() + 0.02
        while time.monotonic() < end:
            sum(range(1000))
        rounds["cruncher"] += 1
        await asyncio.sleep(0)


async def tick():
    rounds["ticker"] = 0
    while True:
        await asyncio.sleep(0.01)
        rounds["ticker"] += 1


async def chunks_main(seconds):
    await run_tasks({"cruncher": crunch_chunks(), "ticker": tick()}, seconds)
    return report("chunks", seconds)


MODES = {
    "rlock": rlock_main,
    "join": join_main,
    "ordered": lambda s: asyncio.run(ordered_main(s)),
    "idle": lambda s: asyncio.run(idle_main(s)),
    "byhand": lambda s: asyncio.run(byhand_main(s)),
    "relock": lambda s: asyncio.run(relock_main(s)),
    "futures": lambda s: asyncio.run(futures_main(s)),
    "chunks": lambda s: asyncio.run(chunks_main(s)),
    "swap": lambda s: asyncio.run(swap_main(s)),
    "reenter": reenter_main,
    "server-idle": lambda s: asyncio.run(server_main(s, busy=False)),
    "server-busy": lambda s: asyncio.run(server_main(s, busy=True)),
}


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[1] not in MODES:
        print(f"usage: pyhealthy.py {{{'|'.join(MODES)}}} [SECONDS]",
              file=sys.stderr)
        return 2
    seconds = float(sys.argv[2]) if len(sys.argv) == 3 else 5.0
    return MODES[sys.argv[1]](seconds)


if __name__ == "__main__":
    sys.exit(main())
