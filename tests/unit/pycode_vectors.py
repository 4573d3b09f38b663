# SPDX-License-Identifier: GPL-2.0
"""pycode_vectors - what the running CPython says its code objects' tables
mean, for tests/unit/pycode.c to compare lockwatch's decoders with.

    python3 tests/unit/pycode_vectors.py [FILE.py...]

For every code object of asyncio.locks, asyncio.queues, asyncio.tasks,
threading and the given files (nested code included), three lines:

  code FIRSTLINENO UNITS LINETABLE-HEX EXCEPTIONTABLE-HEX QUALNAME
  lines L0 L1 ...      the line of each code unit (0: none), from co_lines()
  depths D0 D1 ...     the stack depth of the exception handler covering
                       each code unit (0: none), from the exception table
                       as dis parses it
"""
import asyncio.locks
import asyncio.queues
import asyncio.tasks
import dis
import sys
import threading
import types


def codes(code):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from codes(c)


def module_codes(module):
    for obj in vars(module).values():
        if isinstance(obj, type):
            for member in vars(obj).values():
                fn = getattr(member, "__func__", member)
                if isinstance(fn, types.FunctionType) and fn.__module__ == module.__name__:
                    yield from codes(fn.__code__)
        elif isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__:
            yield from codes(obj.__code__)


def vectors(code):
    units = len(code.co_code) // 2
    lines = [0] * units
    for start, end, line in code.co_lines():
        for u in range(start // 2, end // 2):
            lines[u] = line or 0
    depths = [0] * units
    for e in dis._parse_exception_table(code):
        for u in range(e.start // 2, e.end // 2):
            depths[u] = e.depth
    print("code", code.co_firstlineno, units, code.co_linetable.hex() or "-",
          code.co_exceptiontable.hex() or "-", code.co_qualname)
    print("lines", *lines)
    print("depths", *depths)


def main():
    for module in (asyncio.locks, asyncio.queues, asyncio.tasks, threading):
        for code in module_codes(module):
            vectors(code)
    for path in sys.argv[1:]:
        with open(path) as f:
            for code in codes(compile(f.read(), path, "exec")):
                vectors(code)


if __name__ == "__main__":
    main()
