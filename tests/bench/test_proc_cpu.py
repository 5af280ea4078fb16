"""A service's CPU from /proc counts the processes below it too: a worker's, living or already waited for."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from tests.bench.proc_cpu import process_cpu_seconds, process_tree, same_program, tree_cpu_seconds

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"


def _spawn(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)


def test_a_living_worker_is_part_of_its_service():
    parent = _spawn(
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", {BURN + "time.sleep(60)"!r}])
        print(child.pid, flush=True)
        time.sleep(60)
        """
    )
    try:
        child = int(parent.stdout.readline())
        assert process_tree(parent.pid) == [parent.pid, child]
        assert same_program(child, parent.pid)
        deadline = time.monotonic() + 30
        while process_cpu_seconds(child) < 0.29 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tree_cpu_seconds(parent.pid) >= process_cpu_seconds(child) >= 0.29
    finally:
        parent.kill()
        parent.wait()


def test_a_worker_that_has_exited_is_still_counted_once():
    parent = _spawn(
        f"""
        import subprocess, sys, time
        subprocess.run([sys.executable, "-c", {BURN!r}], check=True)
        print("done", flush=True)
        time.sleep(60)
        """
    )
    try:
        assert parent.stdout.readline().strip() == "done"
        assert process_tree(parent.pid) == [parent.pid]
        assert tree_cpu_seconds(parent.pid) >= 0.29  # the child's, in the parent's cutime
    finally:
        parent.kill()
        parent.wait()
