#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""syslogd - a system logger's socket for lockwatch's --syslog tests.

    syslogd.py listen SOCKET OUT    receive datagrams on the Unix socket
                                    SOCKET (made here; "ready PID" to
                                    $LW_READY_FILE once it is bound), each
                                    appended to OUT as one line, until killed
    syslogd.py parse OUT            each line of OUT as an RFC 5424 message,
                                    parsed strictly, one JSON object a line
                                    on stdout; exit 1 at the first line that
                                    is not one

A parsed message: {"pri", "version", "timestamp", "hostname", "app", "procid",
"msgid", "sd": [{"id", "params": [[name, value], ...]}], "msg"}, with every
PARAM-VALUE unescaped as RFC 5424 section 6.3.3 says.
"""
import json
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwready import say_ready  # noqa: E402

# HEADER: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
HEADER = re.compile(
    r"<(\d{1,3})>([1-9]\d{0,2}) "
    r"(-|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) "
    r"([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) ")
SD_NAME = re.compile(r"[!#-<>-\\^-~]{1,32}")  # printable, but '=', ' ', ']', '"'


def sd_name(line, i):
    m = SD_NAME.match(line, i)
    if not m:
        raise ValueError(f"bad SD name at {i}")
    return m.group(0), m.end()


def parse(line):
    m = HEADER.match(line)
    if not m:
        raise ValueError("bad header")
    out = dict(zip(("pri", "version", "timestamp", "hostname", "app", "procid", "msgid"),
                   m.groups()))
    out["pri"] = int(out["pri"])
    i, sd = m.end(), []
    if line.startswith("- ", i):
        i += 2
    else:
        while i < len(line) and line[i] == "[":
            sd_id, i = sd_name(line, i + 1)
            params = []
            while line[i] == " ":
                name, i = sd_name(line, i + 1)
                if line[i:i + 2] != '="':
                    raise ValueError(f"no =\" at {i}")
                i, value = i + 2, []
                while line[i] != '"':
                    if line[i] == "\\" and line[i + 1] in '"\\]':
                        i += 1
                    elif line[i] in '"]':
                        raise ValueError(f"unescaped {line[i]} at {i}")
                    value.append(line[i])
                    i += 1
                params.append([name, "".join(value)])
                i += 1
            if line[i] != "]":
                raise ValueError(f"no ] at {i}")
            sd.append({"id": sd_id, "params": params})
            i += 1
        if not sd or line[i:i + 1] != " ":
            raise ValueError(f"no structured data, or no space after it, at {i}")
        i += 1
    out["sd"], out["msg"] = sd, line[i:]
    return out


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "listen":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(sys.argv[2])
        say_ready()
        with open(sys.argv[3], "ab", buffering=0) as out:
            while True:
                out.write(s.recv(65536) + b"\n")
    elif len(sys.argv) == 3 and sys.argv[1] == "parse":
        with open(sys.argv[2], encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    print(json.dumps(parse(line.rstrip("\n"))))
                except (ValueError, IndexError) as e:
                    print(f"syslogd: line {n}: not RFC 5424: {e}: {line!r}", file=sys.stderr)
                    sys.exit(1)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


main()
