"""Runs model-written Python in a bubblewrap sandbox, within limits, and reports what happened.

Isolation is bubblewrap (``bwrap``, Debian package ``bubblewrap``): Linux namespaces
with no network, a private root holding only the interpreter and its libraries
read-only, and a size-limited tmpfs scratch folder (see ``tools.sandbox_command``).
Limits are rlimits set by ``prlimit`` (CPU time, memory, processes, file size), plus
the wall time and the output size, which this module enforces by killing the run.
When breadth runs as root the sandbox runs as an unprivileged user (``nobody``):
root ignores the process limit, so a fork bomb would not be stopped.

Before the first run a probe checks that the sandbox really starts here; when it
cannot (bwrap missing, user namespaces forbidden, no interpreter the sandbox user can
read), every run is refused with a message naming what to install or allow. Nothing
ever runs unsandboxed unless the operator chose the ``unsafe-none`` mode by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from typing import Literal

from orchestrator.errors import ToolError
from tools.sandbox_command import (
    LIBRARY_DIRS,
    Interpreter,
    SandboxLimits,
    bwrap_args,
    interpreter_mounts,
    prlimit_args,
    sandbox_env,
    status_words,
    unsandboxed_args,
)

SandboxMode = Literal["bubblewrap", "unsafe-none"]
SANDBOX_MODES: tuple[SandboxMode, ...] = ("bubblewrap", "unsafe-none")
NOBODY = 65534
# Processes bwrap itself needs (its monitor and the namespace's init) beside the program.
BWRAP_PROCESSES = 3
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: "
    "`dnf install bubblewrap`)"
)
# Probe outcomes by (mode, interpreters, user): the interpreter, or the refusal message.
_PROBED: dict[tuple[str, tuple[str, ...], int | None], tuple[Interpreter | None, str | None]] = {}
_PROBE = "import json, decimal, fractions, math; print(json.dumps(sum(range(10))))"


@dataclass(frozen=True)
class RunResult:
    """What one run did: its exit status in words, its output, and the limit that stopped it."""

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    limit: str | None = None

    def report(self) -> str:
        """The result as the text the calling agent reads."""
        lines = [f"{self.status}" + (f" (stopped: {self.limit})" if self.limit else "")]
        lines += ["--- stdout ---", self.stdout.rstrip("\n") or "(empty)"]
        if self.stderr.strip():
            lines += ["--- stderr ---", self.stderr.rstrip("\n")]
        return "\n".join(lines)


@dataclass
class _Capture:
    data: bytearray = field(default_factory=bytearray)


class Sandbox:
    """Runs Python code isolated by bubblewrap (or, by the operator's explicit choice, not)."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        mode: SandboxMode = "bubblewrap",
        interpreters: tuple[str, ...] | None = None,
        sandbox_uid: int = NOBODY,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.mode = mode
        self._candidates = interpreters or _default_interpreters()
        self._uid = sandbox_uid if os.geteuid() == 0 else None

    async def check(self) -> Interpreter:
        """The interpreter the sandbox runs, after a probe run; a ``ToolError`` says why not.

        The probe's outcome is kept for the process (per mode, interpreters and user).
        """
        key = (self.mode, self._candidates, self._uid)
        if key not in _PROBED:
            _PROBED[key] = await self._probe()
        ready, refusal = _PROBED[key]
        if refusal is not None:
            raise ToolError(refusal)
        assert ready is not None
        return ready

    async def run(self, code: str) -> RunResult:
        """Run ``code``; its output, exit status, and the limit that stopped it (if any)."""
        size = len(code.encode())
        if size > self.limits.code_bytes:
            raise ToolError(
                f"the code is {size} bytes; the limit is {self.limits.code_bytes}, so send less"
            )
        interpreter = await self.check()
        return await self._execute(interpreter, code)

    def _command(self, interpreter: Interpreter) -> list[str]:
        cap = self.limits.processes + BWRAP_PROCESSES + _processes_of(self._uid or os.getuid())
        if self.mode == "unsafe-none":
            return prlimit_args(self.limits, cap) + unsandboxed_args(interpreter.executable)
        return prlimit_args(self.limits, cap) + bwrap_args(interpreter, self.limits)

    async def _execute(self, interpreter: Interpreter, code: str) -> RunResult:
        limits = self.limits
        kwargs: dict[str, object] = {}
        if self._uid is not None:
            kwargs.update(user=self._uid, group=self._uid, extra_groups=[])
        env = sandbox_env() if self.mode == "unsafe-none" else {"PATH": "/usr/bin:/bin"}
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command(interpreter),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                cwd="/",
                env=env,
                **kwargs,  # type: ignore[arg-type]
            )
        except OSError as exc:
            raise ToolError(f"the python sandbox could not start ({exc}); {INSTALL_HINT}") from None
        assert process.stdin and process.stdout and process.stderr
        out, err = _Capture(), _Capture()
        over = asyncio.Event()
        readers = [
            asyncio.create_task(_read(process.stdout, out, err, limits.output_bytes, over)),
            asyncio.create_task(_read(process.stderr, err, out, limits.output_bytes, over)),
        ]
        limit: str | None = None
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                process.stdin.write(code.encode())
                await process.stdin.drain()
                process.stdin.close()
            waiting = asyncio.create_task(process.wait())
            stopped = asyncio.create_task(over.wait())
            done, _ = await asyncio.wait(
                {waiting, stopped}, timeout=limits.wall_s, return_when=asyncio.FIRST_COMPLETED
            )
            stopped.cancel()
            if waiting not in done:
                limit = (
                    f"output limit of {limits.output_bytes} bytes"
                    if over.is_set()
                    else f"wall time limit of {limits.wall_s:g} s"
                )
                _kill(process)
            await waiting
            await asyncio.gather(*readers)
        finally:
            _kill(process)
            for reader in readers:
                reader.cancel()
        returncode = process.returncode
        assert returncode is not None
        stdout, stderr = _text(out), _text(err)
        limit = limit or self._limit_of(returncode, stderr)
        words = status_words(returncode, shell_style=self.mode == "bubblewrap")
        return RunResult(words, returncode, stdout, stderr, limit)

    def _limit_of(self, returncode: int, stderr: str) -> str | None:
        """The resource limit a finished run hit, read from how it ended."""
        limits = self.limits
        if returncode in (-signal.SIGXCPU, 128 + signal.SIGXCPU) or (
            returncode in (-signal.SIGKILL, 128 + signal.SIGKILL) and "MemoryError" not in stderr
        ):
            return f"CPU time limit of {limits.cpu_s} s"
        if "MemoryError" in stderr:
            return f"memory limit of {limits.memory_bytes // (1024 * 1024)} MiB"
        if "BlockingIOError" in stderr and "Resource temporarily unavailable" in stderr:
            return f"process limit of {limits.processes}"
        if returncode in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ) or "No space left" in stderr:
            return f"scratch space limit of {limits.scratch_bytes // (1024 * 1024)} MiB"
        return None

    async def _probe(self) -> tuple[Interpreter | None, str | None]:
        """Find an interpreter that runs in the sandbox here; else the refusal message."""
        if shutil.which("prlimit") is None:
            return None, (
                "the python tool needs `prlimit` (util-linux) to set its limits and it is not "
                "installed: install util-linux (Debian: `apt-get install util-linux`)"
            )
        if self.mode == "bubblewrap" and shutil.which("bwrap") is None:
            return None, (
                f"the python tool runs code only inside a sandbox, and bubblewrap (bwrap) is "
                f"not installed: {INSTALL_HINT}. (An operator may instead choose the "
                f"'unsafe-none' python sandbox, which runs model-written code on this host.)"
            )
        failures = []
        for executable in self._candidates:
            interpreter = await _describe(executable)
            if interpreter is None:
                continue
            probe = SandboxLimits(wall_s=15.0, cpu_s=10)
            saved, self.limits = self.limits, probe
            try:
                result = await self._execute(interpreter, _PROBE)
            except ToolError as exc:
                failures.append(f"{executable}: {exc}")
                continue
            finally:
                self.limits = saved
            if result.returncode == 0 and result.stdout.strip() == "45":
                return interpreter, None
            failures.append(f"{executable}: {result.status}: {result.stderr.strip()[:300]}")
        detail = "; ".join(failures) or "no Python interpreter found"
        return None, (
            f"the python sandbox does not start on this machine ({detail}). bubblewrap needs "
            f"user namespaces (sysctl kernel.unprivileged_userns_clone=1 where that exists) and "
            f"a Python the sandbox user can read (install Debian's python3); {INSTALL_HINT}"
        )


async def _read(
    stream: asyncio.StreamReader,
    into: _Capture,
    other: _Capture,
    cap: int,
    over: asyncio.Event,
) -> None:
    """Keep what ``stream`` writes while both outputs together stay under ``cap`` bytes.

    Past the cap the rest is read and dropped until the killed run closes the pipe: a
    pipe left unread would keep the process from being reaped.
    """
    while chunk := await stream.read(65536):
        room = cap - len(into.data) - len(other.data)
        if room > 0:
            into.data += chunk[:room]
        if len(chunk) > room:
            over.set()


def _text(capture: _Capture) -> str:
    return capture.data.decode("utf-8", errors="replace")


def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the run's whole process group (bwrap takes its namespace down with it)."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def _processes_of(uid: int) -> int:
    """How many processes ``uid`` runs now: rlimits count them all against one cap."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        count += int(line.split()[1]) == uid
                        break
        except OSError:
            continue
    return count


def _default_interpreters() -> tuple[str, ...]:
    """This Python first, then the system's: the sandbox user may not be able to read ours."""
    own = os.path.realpath(sys.executable)
    found = [own]
    for name in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(name):
            found.append(os.path.realpath(name))
    return tuple(dict.fromkeys(found))


async def _describe(executable: str) -> Interpreter | None:
    """The mounts ``executable`` needs: asked of the interpreter itself (a trusted binary)."""
    try:
        process = await asyncio.create_subprocess_exec(
            executable,
            "-I",
            "-S",
            "-c",
            "import sys; print(sys.base_prefix)",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 15)
    except (OSError, TimeoutError):
        return None
    if process.returncode != 0:
        return None
    prefix = out.decode().strip()
    libraries: list[tuple[str, str | None]] = []
    for path in LIBRARY_DIRS:
        if os.path.islink(path):
            libraries.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            libraries.append((path, None))
    return Interpreter(executable, interpreter_mounts(executable, prefix, libraries))
