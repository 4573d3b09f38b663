# SPDX-License-Identifier: GPL-2.0
"""lwready - the ready line of lockwatch's Python test and benchmark programs.

The same protocol as tests/hang.c: once the state a test wants has formed,
the program writes "ready PID" on one line to $LW_READY_FILE, written aside
and then renamed so that a reader never sees half a line; without the
variable, the line goes to stderr.
"""

import os
import sys


def say_ready():
    """Writes "ready PID" to $LW_READY_FILE (aside, then renamed) or stderr."""
    line = f"ready {os.getpid()}\n"
    path = os.environ.get("LW_READY_FILE")
    if not path:
        sys.stderr.write(line)
        sys.stderr.flush()
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(line)
    os.rename(tmp, path)
