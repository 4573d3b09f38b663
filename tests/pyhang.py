#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""pyhang - Python 3.11 programs that really deadlock, for lockwatch's tests.

    pyhang.py MODE [N]

Every mode but order-tasks and order-threads hangs until it is killed.  The
asyncio modes run only the tasks named below plus the main task of
asyncio.run(), on the main thread alone.

  store    the locked-method-calls-locked-method trap: task "rebuilder" runs
           Store.rebuild(), which holds the store's self._lock (an
           asyncio.Lock) and then calls Store.set_hash(), which takes
           self._lock again; asyncio locks are not reentrant
  abba     tasks "transfer-ab" and "transfer-ba" take the module-global
           asyncio locks lock_a and lock_b in opposite order
  await    tasks "ping" and "pong" await each other (through the module-global
           dict tasks)
  orphan   task "loader" takes the module-global asyncio lock cache_lock and
           dies of an exception without releasing it; then tasks "reader-1"
           and "reader-2" wait for cache_lock forever
  threads  threads "mover-ab" and "mover-ba" take the module-global
           threading locks lock_a and lock_b in opposite order; the main
           thread joins them
  join     the main thread holds the module-global threading lock
           registry_lock and joins thread "loader", which waits for it (a
           thread "Thread-1" says ready, then ends)
  rlock    thread "configure" takes the threading.RLock config_lock by hand
           (acquire(), no "with": the RLock records its owner) and then the
           Lock stats_lock; thread "tally" takes stats_lock (with "with") and
           then config_lock
  mixed    task "holder" holds the module-global threading lock tlock across
           an await; task "blocker" then takes tlock with a plain "with", which
           blocks the event loop's thread in the kernel, so "holder" can never
           run again to release it (a thread "announcer" says ready, then ends)
  native   a Python lock and a C library's own lock, in opposite order: thread
           "cacher" holds the module-global threading lock cache_lock and
           calls the library's registry_lookup() (ctypes), which waits for
           the library's registry_mutex; thread "visitor" is inside the
           library's registry_visit(), which holds registry_mutex while it
           calls back into Python, into on_visit(), which takes cache_lock
           (the library is .output/tests/libregistry.so, or LW_REGISTRY_LIB)
  gil      a deadlock through the GIL: thread "visitor" is inside the C
           library's registry_visit(), which holds registry_mutex while it
           calls back into Python; the callback sleeps 0.5 s (letting go of
           the GIL) and then waits for the GIL again. Meanwhile thread
           "locker" calls registry_lookup() through ctypes.PyDLL, which keeps
           the GIL: it waits for registry_mutex holding the GIL (a C
           extension that forgot to let go of it). The ready line comes
           just before the last step: the deadlock forms 0.5 s later
  pool     two work items of one ThreadPoolExecutor (threads "worker_0",
           "worker_1") wait for each other's futures: wait_on_b() waits for
           the future of wait_on_a(), which waits for the future of
           wait_on_b(); the main thread waits for the first
  queued   both workers of a ThreadPoolExecutor (threads "pool_0", "pool_1")
           run nest(), which (once both do) submits compute() to the same pool and waits
           for its future, queued behind them: no worker is left to run it
  threadsafe
           a coroutine on the event loop's own thread (the main thread)
           calls asyncio.run_coroutine_threadsafe(refresh(), loop).result():
           refresh() can only run once the loop's thread returns
  cross    a concurrent future and an asyncio one: task "fetcher" holds the
           module-global asyncio lock cache_lock and awaits
           loop.run_in_executor(pool, fill_cache); fill_cache(), on the
           pool's thread "io_0", waits for
           run_coroutine_threadsafe(refill(), loop);
           refill() (it names its task "refill") waits for cache_lock
  stall    a stalled event loop, no deadlock: task "cruncher" computes and
           never awaits (says ready as it starts)
  blocking a stalled event loop, no deadlock: task "fetcher" calls
           time.sleep(3600), a blocking call, inside its coroutine (says
           ready just before)
  order-tasks
           a lock-order inversion that does not hang (yet), then exits:
           task "ab-first" holds the module-global asyncio locks lock_a and
           then lock_b (nested) for 1.5 s; once it is done, task "ba-later"
           holds lock_b and then lock_a for 1.5 s; task "ticker" wakes every
           50 ms throughout (a loop that runs, as a server's does)
  order-threads
           the same with threading locks and threads "ab-first" and
           "ba-later", one after the other, the main thread joining each
           with a 50 ms timeout
  ring N   N tasks "ring-0" .. "ring-N-1" (N >= 2, default 33), each
           awaiting the next, the last awaiting the first
  hold     no deadlock, two locks never let go: task "owner" holds the
           module-global asyncio lock table_lock across await
           asyncio.sleep(3600); thread "keeper" holds the module-global
           threading lock config_lock across time.sleep(3600). Nobody waits
           for either
  later    says ready at once and idles (its loop wakes every 0.2 s) until
           the file LW_GO_FILE exists, then deadlocks as abba does: a
           deadlock that forms after a watcher's first look, using next to
           no CPU in between

Every deadlock forms the same way on every run, within about 0.2 s (a ring
of many tasks takes longer): sleeps, a barrier and events order the steps.

Environment:
  LW_READY_FILE=PATH  once the deadlock has formed, write "ready PID" on one
                      line to PATH (atomically: written aside, then renamed);
                      without it, the line goes to stderr

Nothing goes to stdout: lockwatch shares it with the command it runs.
"""

import asyncio
import concurrent.futures
import ctypes
import os
import sys
import threading
import time

from lwready import say_ready

# The locks of the modes, created by the mode that uses them (abba and threads
# both call theirs lock_a and lock_b, one asyncio and one threading kind).
lock_a = None
lock_b = None
cache_lock = None
tlock = None
registry_lock = None    # join
config_lock = None      # rlock: a threading.RLock
stats_lock = None       # rlock: a threading.Lock

# await: the tasks "ping" and "pong", by name.
tasks = {}

# native: the C library, and what orders the steps.
registry = None
cache_held = None
visiting = None
VISIT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int)
on_visit_c = None

# ring: the tasks, in order.
ring = []

# threads: the barrier and events that order the steps.
both_hold_one = None
ab_at_second = None
ba_at_second = None


# --- saying ready ---

def await_chain(task):
    """The names of the coroutines a suspended task is in, outermost first.

    For a task waiting in "async with lock:" inside f() this is
    ["f", "__aenter__", "acquire"].
    """
    names = []
    coro = task.get_coro()
    while getattr(coro, "cr_frame", None) is not None:
        names.append(coro.cr_code.co_name)
        coro = coro.cr_await
    return names


def blocked_in(task, *names):
    """True when task is suspended in exactly the coroutines names."""
    return not task.done() and await_chain(task) == list(names)


def say_ready_when(check):
    """From a timer callback of the running loop, 0.3 s from now, and then
    every 50 ms until check() is true: says ready once check() is true."""
    loop = asyncio.get_running_loop()

    def poll():
        if check():
            say_ready()
        else:
            loop.call_later(0.05, poll)

    loop.call_later(0.3, poll)


def asleep_in_futex(tid):
    """True when thread tid of this process sleeps in futex(2) (x86-64)."""
    try:
        with open(f"/proc/self/task/{tid}/stat") as f:
            stat = f.read()
        with open(f"/proc/self/task/{tid}/syscall") as f:
            syscall = f.read()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state == "S" and syscall.split()[0] == "202"


def wait_asleep(threads):
    """Returns once every thread sleeps in futex(2) on two looks 50 ms apart
    (a first look may catch one waiting for the GIL)."""
    while True:
        while not all(asleep_in_futex(t.native_id) for t in threads):
            time.sleep(0.01)
        time.sleep(0.05)
        if all(asleep_in_futex(t.native_id) for t in threads):
            return


# --- store: a locked method calls another locked method ---

class Store:
    def __init__(self):
        self._lock = asyncio.Lock()
        self._hash = None

    async def rebuild(self):
        async with self._lock:
            await asyncio.sleep(0)
            await self.set_hash("rebuilt")

    async def set_hash(self, value):
        # Called from rebuild(), which holds self._lock already: this waits
        # for the task itself (asyncio.Lock is not reentrant).
        async with self._lock:
            self._hash = value


async def store_main():
    store = Store()
    rebuilder = asyncio.create_task(store.rebuild(), name="rebuilder")
    say_ready_when(lambda: blocked_in(rebuilder, "rebuild", "set_hash",
                                      "__aenter__", "acquire"))
    await rebuilder


# --- abba: two asyncio locks taken in opposite order ---

async def transfer_ab():
    async with lock_a:
        await asyncio.sleep(0.05)
        # transfer_ba() holds lock_b and waits for lock_a.
        async with lock_b:
            pass


async def transfer_ba():
    async with lock_b:
        await asyncio.sleep(0.05)
        # transfer_ab() holds lock_a and waits for lock_b.
        async with lock_a:
            pass


async def abba_main():
    global lock_a, lock_b

    lock_a = asyncio.Lock()
    lock_b = asyncio.Lock()
    ab = asyncio.create_task(transfer_ab(), name="transfer-ab")
    ba = asyncio.create_task(transfer_ba(), name="transfer-ba")
    say_ready_when(lambda: (
        blocked_in(ab, "transfer_ab", "__aenter__", "acquire")
        and blocked_in(ba, "transfer_ba", "__aenter__", "acquire")))
    await asyncio.gather(ab, ba)


# --- hidden: an abba beside 200 locks only a huge dict could name ---
# Each of 200 tasks waits for a lock another holds, reached through a list:
# no frame's local names it, so lockwatch looks for it among the module's
# globals - a million of them, scanned once per lock (a look that would take
# a minute without a read budget).

HIDDEN_LOCKS = []


async def hide_hold(i):
    async with HIDDEN_LOCKS[i]:
        await asyncio.sleep(3600)


async def hide_wait(i):
    await HIDDEN_LOCKS[i].acquire()


async def hidden_main():
    names = globals()
    for i in range(1_000_000):
        names[f"filler_{i}"] = i
    HIDDEN_LOCKS.extend(asyncio.Lock() for _ in range(200))
    for i in range(200):
        asyncio.create_task(hide_hold(i), name=f"holder-{i}")
    await asyncio.sleep(0.1)
    for i in range(200):
        asyncio.create_task(hide_wait(i), name=f"waiter-{i}")
    await abba_main()


# --- await: two tasks await each other ---

async def ping():
    await asyncio.sleep(0.05)
    # Ends when pong ends, which ends when ping ends.
    await tasks["pong"]


async def pong():
    await asyncio.sleep(0.05)
    # Ends when ping ends, which ends when pong ends.
    await tasks["ping"]


async def await_main():
    tasks["ping"] = asyncio.create_task(ping(), name="ping")
    tasks["pong"] = asyncio.create_task(pong(), name="pong")
    say_ready_when(lambda: (blocked_in(tasks["ping"], "ping")
                            and blocked_in(tasks["pong"], "pong")))
    await asyncio.gather(tasks["ping"], tasks["pong"])


# --- orphan: a task dies holding a lock ---

async def load():
    await cache_lock.acquire()
    # The error path forgets cache_lock.release() (no "async with", no
    # try/finally): the lock stays locked after the task is gone.
    raise RuntimeError("cache file missing")


async def read_cache():
    # Nobody is left to release cache_lock.
    async with cache_lock:
        pass


async def orphan_main():
    global cache_lock

    cache_lock = asyncio.Lock()
    loader = asyncio.create_task(load(), name="loader")
    await asyncio.wait([loader])
    print(f"pyhang: loader failed: {loader.exception()}", file=sys.stderr)
    reader1 = asyncio.create_task(read_cache(), name="reader-1")
    reader2 = asyncio.create_task(read_cache(), name="reader-2")
    say_ready_when(lambda: (
        blocked_in(reader1, "read_cache", "__aenter__", "acquire")
        and blocked_in(reader2, "read_cache", "__aenter__", "acquire")))
    await asyncio.gather(reader1, reader2)


# --- orphan-chain: 50,000 tasks await one another down to reader-1 ---
# Each link awaits the task created after it, so telling that every live
# task ends up waiting for cache_lock took lockwatch one round over all
# tasks per link (minutes) until it followed the links once.

CHAIN = []


async def link(k):
    await asyncio.sleep(0.1)
    await CHAIN[k + 1]


async def orphan_chain_main():
    global cache_lock

    cache_lock = asyncio.Lock()
    loader = asyncio.create_task(load(), name="loader")
    await asyncio.wait([loader])
    CHAIN.extend(asyncio.create_task(link(k), name=f"link-{k}") for k in range(50_000))
    reader = asyncio.create_task(read_cache(), name="reader-1")
    CHAIN.append(reader)
    say_ready_when(lambda: (
        blocked_in(reader, "read_cache", "__aenter__", "acquire")
        and blocked_in(CHAIN[0], "link")))
    await CHAIN[0]


# --- threads: two threading locks taken in opposite order ---

def move_ab():
    with lock_a:
        both_hold_one.wait()
        ab_at_second.set()
        # move_ba() holds lock_b and waits for lock_a.
        with lock_b:
            pass


def move_ba():
    with lock_b:
        both_hold_one.wait()
        ba_at_second.set()
        # move_ab() holds lock_a and waits for lock_b.
        with lock_a:
            pass


def threads_main():
    global lock_a, lock_b, both_hold_one, ab_at_second, ba_at_second

    lock_a = threading.Lock()
    lock_b = threading.Lock()
    both_hold_one = threading.Barrier(2)
    ab_at_second = threading.Event()
    ba_at_second = threading.Event()
    movers = [threading.Thread(target=move_ab, name="mover-ab", daemon=True),
              threading.Thread(target=move_ba, name="mover-ba", daemon=True)]
    for t in movers:
        t.start()
    ab_at_second.wait()
    ba_at_second.wait()
    # Both are past their second event: wait until both sleep in the kernel.
    wait_asleep(movers)
    say_ready()
    for t in movers:
        t.join()


# --- join: the main thread joins a thread while holding the lock it needs ---

def load_registry():
    time.sleep(0.05)
    # The main thread holds registry_lock until this thread has finished.
    with registry_lock:
        pass


def join_main():
    global registry_lock

    registry_lock = threading.Lock()
    loader = threading.Thread(target=load_registry, name="loader", daemon=True)
    with registry_lock:
        loader.start()
        threading.Timer(0.3, say_ready).start()
        loader.join()


# --- rlock: an RLock taken by hand, and a Lock, in opposite order ---

def take_config_then_stats():
    config_lock.acquire()
    both_hold_one.wait()
    # tally() holds stats_lock and waits for config_lock.
    stats_lock.acquire()


def take_stats_then_config():
    with stats_lock:
        both_hold_one.wait()
        # configure() holds config_lock (an RLock, owned by its thread) and
        # waits for stats_lock.
        config_lock.acquire()


def rlock_main():
    global config_lock, stats_lock, both_hold_one

    config_lock = threading.RLock()
    stats_lock = threading.Lock()
    both_hold_one = threading.Barrier(2)
    threads = [threading.Thread(target=take_config_then_stats, name="configure",
                                daemon=True),
               threading.Thread(target=take_stats_then_config, name="tally",
                                daemon=True)]
    for t in threads:
        t.start()
    wait_asleep(threads)
    say_ready()
    for t in threads:
        t.join()


# --- mixed: a task holds a threading lock, the loop's thread waits for it ---

async def hold():
    with tlock:
        # Never wakes up: at 0.05 s block() stops the loop's thread, which is
        # the only one that could run this task on to release tlock.
        await asyncio.sleep(0.1)
        await asyncio.sleep(3600)


async def block():
    await asyncio.sleep(0.05)
    # A threading lock in a coroutine: the whole loop's thread waits here,
    # for hold(), which only that thread can run.
    with tlock:
        pass


def announce_mixed(blocker):
    """Runs on the thread "announcer": the loop is blocked, so no timer
    callback can say ready."""
    loop_tid = threading.main_thread().native_id
    while not (tlock.locked()
               and blocker.get_coro().cr_running
               and asleep_in_futex(loop_tid)):
        time.sleep(0.05)
    say_ready()


async def mixed_main():
    global tlock

    tlock = threading.Lock()
    holder = asyncio.create_task(hold(), name="holder")
    blocker = asyncio.create_task(block(), name="blocker")
    announcer = threading.Timer(0.3, announce_mixed, args=(blocker,))
    announcer.name = "announcer"
    announcer.start()
    await asyncio.gather(holder, blocker)


# --- native: a threading lock and a C library's mutex, in opposite order ---

def cache_fill():
    with cache_lock:
        cache_held.set()
        visiting.wait()
        # visit_all() is inside the library, holding its registry_mutex,
        # and waits for cache_lock.
        registry.registry_lookup(1)


def on_visit(key, value):
    """Called back by the library, which holds its registry_mutex."""
    visiting.set()
    # cache_fill() holds cache_lock and waits for the registry's mutex.
    with cache_lock:
        pass


def visit_all():
    cache_held.wait()
    registry.registry_visit(on_visit_c)


def open_registry(kind):
    """The C library (.output/tests/libregistry.so, or LW_REGISTRY_LIB) as
    ctypes.CDLL (lets go of the GIL in its calls) or ctypes.PyDLL (keeps it)."""
    lib = kind(os.environ.get("LW_REGISTRY_LIB") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", ".output", "tests",
        "libregistry.so"))
    lib.registry_lookup.argtypes = [ctypes.c_int]
    lib.registry_visit.argtypes = [VISIT]
    return lib


def native_main():
    global registry, cache_lock, cache_held, visiting, on_visit_c

    registry = open_registry(ctypes.CDLL)
    cache_lock = threading.Lock()
    cache_held = threading.Event()
    visiting = threading.Event()
    on_visit_c = VISIT(on_visit)
    threads = [threading.Thread(target=cache_fill, name="cacher", daemon=True),
               threading.Thread(target=visit_all, name="visitor", daemon=True)]
    for t in threads:
        t.start()
    visiting.wait()
    wait_asleep(threads)
    say_ready()
    for t in threads:
        t.join()


# --- gil: a C library's mutex and the GIL, in opposite order ---

def on_visit_sleepy(key, value):
    """Called back by the library, which holds its registry_mutex."""
    visiting.set()
    time.sleep(0.5)  # lets go of the GIL; then needs it back


def lock_holding_gil():
    visiting.wait()
    say_ready()
    # PyDLL keeps the GIL across the call: this waits for registry_mutex
    # (visit_sleepy() holds it) while holding the GIL.
    registry_gil.registry_lookup(1)


def visit_sleepy():
    registry.registry_visit(on_visit_c)


def gil_main():
    global registry, registry_gil, visiting, on_visit_c

    registry = open_registry(ctypes.CDLL)
    registry_gil = open_registry(ctypes.PyDLL)
    visiting = threading.Event()
    on_visit_c = VISIT(on_visit_sleepy)
    threads = [threading.Thread(target=visit_sleepy, name="visitor", daemon=True),
               threading.Thread(target=lock_holding_gil, name="locker", daemon=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# --- ring: N tasks, each awaiting the next ---

async def ring_member(i):
    await asyncio.sleep(0.05)
    # Ends when the next one ends, which ... ends when this one ends.
    await ring[(i + 1) % len(ring)]


async def ring_main(n):
    for i in range(n):
        ring.append(asyncio.create_task(ring_member(i), name=f"ring-{i}"))
    say_ready_when(lambda: all(blocked_in(t, "ring_member") for t in ring))
    await asyncio.gather(*ring)


# --- later: idle first, deadlock when told ---

async def later_main():
    go = os.environ["LW_GO_FILE"]
    say_ready()
    while not os.path.exists(go):
        await asyncio.sleep(0.2)
    await abba_main()


# --- pool: two work items wait for each other's futures ---

pool_futures = {}
pool_started = None


def wait_on_b():
    pool_started.wait()
    return pool_futures["b"].result()


def wait_on_a():
    pool_started.wait()
    return pool_futures["a"].result()


def pool_main():
    global pool_started

    pool_started = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="worker")
    pool_futures["a"] = pool.submit(wait_on_b)
    # worker_0 runs wait_on_b(); once it does, worker_1 is started for the next
    while not pool_futures["a"].running():
        time.sleep(0.01)
    pool_futures["b"] = pool.submit(wait_on_a)
    pool_started.set()
    wait_asleep(list(pool._threads))
    say_ready()
    pool_futures["a"].result()


# --- queued: every worker waits for a future queued behind it ---

nest_pool = None
nest_barrier = None


def compute():
    return 42


def nest():
    # both workers take a nest() before either submits: none is left idle
    # to run a compute() (else the first could be run and all of it end)
    nest_barrier.wait()
    return nest_pool.submit(compute).result()


def queued_main():
    global nest_pool, nest_barrier

    nest_barrier = threading.Barrier(2)
    nest_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="pool")
    outer = [nest_pool.submit(nest), nest_pool.submit(nest)]
    while len(nest_pool._threads) < 2:
        time.sleep(0.01)
    wait_asleep(list(nest_pool._threads))
    say_ready()
    outer[0].result()


# --- threadsafe: the loop's own thread waits for a coroutine on the loop ---

async def refresh():
    return 1


def announce_blocked(thread):
    wait_asleep([thread])
    say_ready()


async def threadsafe_main():
    loop = asyncio.get_running_loop()
    threading.Thread(target=announce_blocked, args=(threading.current_thread(),),
                     name="announcer", daemon=True).start()
    asyncio.run_coroutine_threadsafe(refresh(), loop).result()


# --- cross: a concurrent future and an asyncio one wait for each other ---

main_loop = None
io_pool = None


async def refill():
    asyncio.current_task().set_name("refill")
    async with cache_lock:
        pass


def fill_cache():
    return asyncio.run_coroutine_threadsafe(refill(), main_loop).result()


async def fetch():
    async with cache_lock:
        await main_loop.run_in_executor(io_pool, fill_cache)


async def cross_main():
    global cache_lock, main_loop, io_pool

    cache_lock = asyncio.Lock()
    main_loop = asyncio.get_running_loop()
    io_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="io")
    fetcher = asyncio.create_task(fetch(), name="fetcher")

    def formed():
        refills = [t for t in asyncio.all_tasks() if t.get_name() == "refill"]
        if not refills or not blocked_in(refills[0], "refill", "__aenter__", "acquire"):
            return False
        wait_asleep(list(io_pool._threads))
        return True

    say_ready_when(formed)
    await fetcher


# --- stall, blocking: a coroutine that never gives the loop back ---

async def crunch():
    say_ready()
    n = 0
    while True:
        n += sum(range(1000))


async def fetch_blocking():
    say_ready()
    time.sleep(3600)


async def stall_main(coro, name):
    await asyncio.create_task(coro(), name=name)


# --- order-tasks, order-threads: an inversion, one order after the other ---

async def hold_ab_async():
    async with lock_a:
        async with lock_b:
            await asyncio.sleep(1.5)


async def hold_ba_async():
    async with lock_b:
        async with lock_a:
            await asyncio.sleep(1.5)


async def tick_on():
    while True:
        await asyncio.sleep(0.05)


async def order_tasks_main():
    global lock_a, lock_b

    lock_a = asyncio.Lock()
    lock_b = asyncio.Lock()
    ticker = asyncio.create_task(tick_on(), name="ticker")
    say_ready()
    await asyncio.create_task(hold_ab_async(), name="ab-first")
    await asyncio.create_task(hold_ba_async(), name="ba-later")
    ticker.cancel()


def hold_ab():
    with lock_a:
        with lock_b:
            time.sleep(1.5)


def hold_ba():
    with lock_b:
        with lock_a:
            time.sleep(1.5)


def order_threads_main():
    global lock_a, lock_b

    lock_a = threading.Lock()
    lock_b = threading.Lock()
    say_ready()
    for target, name in ((hold_ab, "ab-first"), (hold_ba, "ba-later")):
        t = threading.Thread(target=target, name=name)
        t.start()
        while t.is_alive():
            t.join(0.05)


# --- hold: a task and a thread that never let go of their locks ---

def keep():
    with config_lock:
        kept.set()
        time.sleep(3600)


async def own():
    async with table_lock:
        await asyncio.sleep(3600)


async def hold_main():
    global table_lock, config_lock, kept

    table_lock = asyncio.Lock()
    config_lock = threading.Lock()
    kept = threading.Event()
    threading.Thread(target=keep, name="keeper", daemon=True).start()
    owner = asyncio.create_task(own(), name="owner")
    say_ready_when(lambda: kept.is_set() and blocked_in(owner, "own", "sleep"))
    await owner


MODES = {
    "store": lambda: asyncio.run(store_main()),
    "abba": lambda: asyncio.run(abba_main()),
    "hidden": lambda: asyncio.run(hidden_main()),
    "await": lambda: asyncio.run(await_main()),
    "orphan": lambda: asyncio.run(orphan_main()),
    "orphan-chain": lambda: asyncio.run(orphan_chain_main()),
    "threads": threads_main,
    "mixed": lambda: asyncio.run(mixed_main()),
    "join": join_main,
    "rlock": rlock_main,
    "native": native_main,
    "gil": gil_main,
    "pool": pool_main,
    "queued": queued_main,
    "threadsafe": lambda: asyncio.run(threadsafe_main()),
    "cross": lambda: asyncio.run(cross_main()),
    "order-tasks": lambda: asyncio.run(order_tasks_main()),
    "order-threads": order_threads_main,
    "stall": lambda: asyncio.run(stall_main(crunch, "cruncher")),
    "blocking": lambda: asyncio.run(stall_main(fetch_blocking, "fetcher")),
    "ring": lambda n=33: asyncio.run(ring_main(n)),
    "later": lambda: asyncio.run(later_main()),
    "hold": lambda: asyncio.run(hold_main()),
}


def main():
    args = sys.argv[1:]
    if not (len(args) == 1 and args[0] in MODES
            or len(args) == 2 and args[0] == "ring" and args[1].isdigit()
            and int(args[1]) >= 2):
        print(f"usage: pyhang.py {{{'|'.join(MODES)}}} (ring N: N >= 2)",
              file=sys.stderr)
        return 2
    MODES[args[0]](*map(int, args[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
