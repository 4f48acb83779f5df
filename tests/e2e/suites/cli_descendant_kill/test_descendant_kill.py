"""Data for tktrace's CLI tests: timeout(1) SIGKILLs a child of a test; pytest itself passes."""
import subprocess
from pathlib import Path


def test_timeout_kills_sleep(request):
    Path("nodeid-timeout.txt").write_text(request.node.nodeid, encoding="utf-8")
    # sh records its pid, then becomes sleep: that pid is the process timeout kills.
    proc = subprocess.Popen(["timeout", "-s", "KILL", "0.5",
                             "sh", "-c", 'echo $$ > pid-sleep.txt && exec sleep 10'])
    Path("pid-timeout.txt").write_text(str(proc.pid))
    proc.wait(timeout=30)
    assert Path("pid-sleep.txt").read_text().strip()
    assert proc.returncode in (-9, 137), proc.returncode
