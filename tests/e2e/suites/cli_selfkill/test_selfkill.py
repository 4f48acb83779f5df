"""Data for tktrace's CLI tests: a test that SIGKILLs its own pytest process with kill(1)."""
import os
import subprocess
from pathlib import Path


def test_selfkill(request):
    Path("nodeid-selfkill.txt").write_text(request.node.nodeid, encoding="utf-8")
    Path("pid-selfkill.txt").write_text(str(os.getpid()))
    # The shell writes its pid, then becomes kill(1): the sender's pid, known before it acts.
    subprocess.run(["/bin/sh", "-c", 'echo $$ > pid-kill.txt && exec /bin/kill -9 "$1"', "sh",
                    str(os.getpid())])
    raise AssertionError("still alive after kill -9 of our own pid")
