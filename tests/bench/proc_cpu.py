"""CPU time of a service from /proc: what it spent, whatever else the machine is doing.

Wall-clock time on a shared 2-core machine measures the neighbours as much as the code; the kernel's
per-process CPU accounting does not. A service is the process the launcher started and every process
below it (a server that forks workers runs the app in its children). For each living process of that tree
we add utime+stime (every thread of the process: the app answers on worker threads) and cutime+cstime
(children it has already waited for), so a worker that exits between two readings is still counted, once.
Resolution is one clock tick (usually 10 ms), so figures are taken over many journeys.
"""

from __future__ import annotations

import os
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (field 3 of proc(5) onwards)."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
        text = stat.read()
    # The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    return text[text.rindex(")") + 2 :].split()


def process_cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of one process, in seconds."""
    utime, stime, cutime, cstime = (int(v) for v in _stat_fields(pid)[11:15])  # fields 14-17 of proc(5)
    return (utime + stime + cutime + cstime) / CLOCK_TICKS


def process_tree(root: int) -> list[int]:
    """`root` and every living process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                parent = int(_stat_fields(int(entry.name))[1])
            except (OSError, ValueError, IndexError):  # exited while we looked
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of a service: its process and every process below it (see the module's docstring)."""
    total = 0.0
    for pid in process_tree(root):
        try:
            total += process_cpu_seconds(pid)
        except (OSError, ValueError):  # exited between the listing and the reading: its parent counts it
            continue
    return total


def same_program(pid: int, root: int) -> bool:
    """Whether `pid` runs the same executable as `root` (a Python worker, not e.g. a tool it spawned)."""
    try:
        return os.readlink(f"/proc/{pid}/exe") == os.readlink(f"/proc/{root}/exe")
    except OSError:
        return False


def own_cpu_seconds() -> float:
    """This process's CPU time (all its threads): the load driver's own cost."""
    return time.process_time()
