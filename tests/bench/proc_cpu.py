"""CPU time of a process from /proc/<pid>/stat: what a service spent, whatever else the machine is doing.

Wall-clock time on a shared 2-core machine measures the neighbours as much as the code; the kernel's
per-process CPU accounting does not. utime+stime cover every thread of the process (waitress answers on
worker threads); cutime+cstime add children it has waited for (e.g. an xmlsec1 subprocess, if any code
path ever spawned one). Resolution is one clock tick (usually 10 ms), so figures are taken over many
journeys.
"""

from __future__ import annotations

import os
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of `pid`, in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        text = stat.read()
    # The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])  # fields 14-17 of proc(5)
    return (utime + stime + cutime + cstime) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    """This process's CPU time (all its threads): the load driver's own cost."""
    return time.process_time()
