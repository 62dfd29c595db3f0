"""The python tool's sandbox (bubblewrap + rlimits) against the issue's attack list.

Each attack is contained and reported, and the host is checked afterwards: its files
untouched, its Redis unreached, no process of the sandbox left running, and it can
still start processes. Where bubblewrap cannot run, the tool refuses (never runs
unsandboxed); that is checked with a sandbox pointed at no interpreter.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from orchestrator.errors import ToolError
from tools.python_runner import python_tool
from tools.sandbox import Sandbox
from tools.sandbox_command import SandboxLimits

pytestmark = pytest.mark.timeout(60)

LIMITS = SandboxLimits(cpu_s=2, wall_s=6, memory_bytes=256 * 1024**2, processes=8)


@pytest.fixture
async def sandbox() -> Sandbox:
    box = Sandbox(LIMITS)
    try:
        await box.check()
    except ToolError as exc:
        pytest.fail(f"the sandbox does not start here: {exc}")
    return box


def leftover_processes(uid: int) -> list[str]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                status = Path(f"/proc/{entry.name}/status").read_text()
            except OSError:
                continue
            if any(
                line.split()[1:2] == [str(uid)]
                for line in status.splitlines()
                if line.startswith("Uid:")
            ):
                found.append(entry.name)
    return found


def host_still_spawns() -> bool:
    return subprocess.run(["true"], check=False).returncode == 0


async def test_code_runs_and_reports_its_output_and_status(sandbox: Sandbox) -> None:
    result = await sandbox.run("import math, json\nprint(json.dumps(math.comb(52, 5)))")
    assert (result.status, result.stdout, result.limit) == ("exit status 0", "2598960\n", None)
    failed = await sandbox.run("raise SystemExit(3)")
    assert failed.status == "exit status 3"


async def test_host_files_outside_the_scratch_dir_cannot_be_read(sandbox: Sandbox) -> None:
    secret = Path(__file__)
    result = await sandbox.run(
        f"for p in ['/etc/passwd', {str(secret)!r}, '/root', '/work', '/home']:\n"
        "    try:\n"
        "        open(p).read(); print('READ', p)\n"
        "    except OSError as e:\n"
        "        print('denied', p, type(e).__name__)\n"
    )
    assert "READ" not in result.stdout
    assert result.stdout.count("denied") == 5
    # /proc is the sandbox's own pid namespace: the host's processes are not there.
    pids = await sandbox.run(
        "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    )
    assert len(eval(pids.stdout)) <= 3 and str(os.getpid()) not in pids.stdout.split(", ")


async def test_writing_outside_the_scratch_dir_fails_and_inside_works(sandbox: Sandbox) -> None:
    target = Path("/tmp") / f"breadth-sandbox-escape-{os.getpid()}"
    result = await sandbox.run(
        "import os\n"
        f"for p in [{str(target)!r}, '/usr/lib/escape', '/escape']:\n"
        "    try:\n"
        "        open(p, 'w').write('x'); print('WROTE', p)\n"
        "    except OSError as e:\n"
        "        print('denied', p)\n"
        "open('notes.txt', 'w').write('kept')\n"
        "print(open('notes.txt').read(), os.getcwd())\n"
    )
    # /tmp inside is the scratch dir: the write lands there, never in the host's /tmp.
    assert not target.exists()
    assert "WROTE /usr/lib/escape" not in result.stdout and "WROTE /escape" not in result.stdout
    assert "kept /scratch" in result.stdout


async def test_there_is_no_network(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        "import socket\n"
        "for host, port in [('127.0.0.1', 6379), ('1.1.1.1', 80)]:\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=2); print('CONNECTED', host)\n"
        "    except OSError as e:\n"
        "        print('no network', host, e.errno)\n"
    )
    assert "CONNECTED" not in result.stdout
    assert result.stdout.count("no network") == 2


async def test_a_fork_bomb_hits_the_process_limit(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        "import os, time\n"
        "children = 0\n"
        "while True:\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        print('stopped after', children); break\n"
        "    if pid == 0:\n"
        "        time.sleep(30); os._exit(0)\n"
        "    children += 1\n"
    )
    children = int(result.stdout.split()[-1])
    assert children <= LIMITS.processes
    assert host_still_spawns()
    if os.geteuid() == 0:
        # The sandbox's pid namespace died with it: the kernel kills what was left in it
        # (asynchronously, so give it a moment).
        for _ in range(100):
            if not leftover_processes(65534):
                break
            await asyncio.sleep(0.05)
        assert leftover_processes(65534) == []


# A loaded machine gives a spinning program less than one CPU second per wall second, so the
# CPU limit tests leave plenty of wall time.
SPIN_LIMITS = SandboxLimits(cpu_s=1, wall_s=30)


async def test_an_endless_loop_stops_at_the_cpu_limit() -> None:
    result = await Sandbox(SPIN_LIMITS).run("while True: pass")
    assert result.limit == "CPU time limit of 1 s"
    assert result.status == "killed by signal SIGXCPU"


async def test_a_sleeping_program_stops_at_the_wall_time_limit(sandbox: Sandbox) -> None:
    result = await sandbox.run("import time\nprint('start', flush=True)\ntime.sleep(60)")
    assert result.limit == "wall time limit of 6 s"
    assert result.stdout == "start\n"


async def test_a_gigabyte_allocation_hits_the_memory_limit(sandbox: Sandbox) -> None:
    result = await sandbox.run("x = bytearray(1024**3)\nprint(len(x))")
    assert result.limit == "memory limit of 256 MiB"
    assert "MemoryError" in result.stderr and result.stdout == ""


async def test_a_hundred_megabytes_of_output_are_cut_at_the_output_limit(sandbox: Sandbox) -> None:
    result = await sandbox.run("import sys\nsys.stdout.write('x' * 100_000_000)")
    assert result.limit == f"output limit of {LIMITS.output_bytes} bytes"
    assert len(result.stdout) <= LIMITS.output_bytes


async def test_the_tool_returns_the_report_as_text(sandbox: Sandbox) -> None:
    text = await python_tool(sandbox).call({"code": "print(6 * 7)"})
    assert text == "exit status 0\n--- stdout ---\n42"
    report = await python_tool(sandbox).call({"code": "import sys; sys.exit('bad input')"})
    assert report == "exit status 1\n--- stdout ---\n(empty)\n--- stderr ---\nbad input"


async def test_code_over_the_size_limit_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ToolError, match="the limit is 100000"):
        await sandbox.run("#" * 100_001)


async def test_without_a_working_sandbox_the_tool_refuses_naming_what_to_install() -> None:
    broken = Sandbox(LIMITS, interpreters=("/nonexistent/python3",))
    with pytest.raises(
        ToolError, match=r"does not start on this machine.*apt-get install bubblewrap"
    ):
        await broken.run("print('this must never run')")
