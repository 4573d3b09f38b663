#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""py_tasks - an asyncio program hung on an AB-BA deadlock among many tasks,
for timing `lockwatch check` on CPython (bench/run.sh, "python check").

    python3.11 bench/py_tasks.py [TASKS]

TASKS (default 10000, at least 2) tasks on one event loop:

  transfer-ab   takes lock_a, sleeps 0.05 s, then waits for lock_b
  transfer-ba   takes lock_b, sleeps 0.05 s, then waits for lock_a
  idle-N        the other TASKS - 2, in turn: waiting for lock_a behind
                transfer-ba (blocked by the deadlock, not part of it),
                waiting on the Event never, which is never set, and in
                asyncio.sleep(3600)

lock_a and lock_b are module-global asyncio.Lock objects, never a module-
global asyncio.Event. The cycle is transfer-ab -> lock_b -> transfer-ba ->
lock_a -> transfer-ab; no other task is in it.

Once every task is blocked (each one awaits a future; checked with
loop.call_later, so no task or thread is added to the count), the line
"ready PID" goes to the file named by LW_READY_FILE, written aside and then
renamed into place (as tests/hang.c does), or to stderr when LW_READY_FILE is
not set. Then the program hangs until killed. Nothing goes to stdout.
"""
import asyncio
import os
import sys

# the ready line is tests/lwready.py's, shared with the test programs
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from lwready import say_ready as ready  # noqa: E402

lock_a = asyncio.Lock()
lock_b = asyncio.Lock()
never = asyncio.Event()

# Every task, so that none is only weakly referenced.
tasks = []

POLL_S = 0.05


async def transfer(first, second):
    async with first:
        await asyncio.sleep(0.05)
        async with second:
            pass


async def idle_lock():
    async with lock_a:
        pass


async def idle_event():
    await never.wait()


async def idle_sleep():
    await asyncio.sleep(3600)


def when_blocked(loop):
    """Says "ready" once every task waits on a future and both locks are held;
    looks again in POLL_S otherwise."""
    for t in tasks:
        if t.done():
            sys.exit("py_tasks: task %s ended: %r" % (t.get_name(), t))
    if (lock_a.locked() and lock_b.locked() and
            all(t._fut_waiter is not None for t in tasks)):
        try:
            ready()
        except OSError as e:
            sys.exit("py_tasks: %s" % e)
        return
    loop.call_later(POLL_S, when_blocked, loop)


def main():
    n = 10000
    if len(sys.argv) > 2:
        sys.exit("usage: py_tasks.py [TASKS]")
    if len(sys.argv) == 2:
        try:
            n = int(sys.argv[1])
        except ValueError:
            n = 0
        if n < 2:
            sys.exit("py_tasks: TASKS must be a number, at least 2: %s" % sys.argv[1])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Tasks take their first step in the order they were created: transfer-ab
    # holds lock_a before any idle task asks for it (asyncio.Lock is FIFO).
    tasks.append(loop.create_task(transfer(lock_a, lock_b), name="transfer-ab"))
    tasks.append(loop.create_task(transfer(lock_b, lock_a), name="transfer-ba"))
    kinds = (idle_lock, idle_event, idle_sleep)
    for i in range(n - 2):
        tasks.append(loop.create_task(kinds[i % 3](), name="idle-%d" % i))
    loop.call_later(2 * POLL_S, when_blocked, loop)
    loop.run_forever()


if __name__ == "__main__":
    main()
