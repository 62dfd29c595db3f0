"""The command line that runs code in the bubblewrap sandbox, built from plain data (pure).

The code runs as ``python -I -S -`` (isolated mode, no site-packages, the program read
from stdin) under ``prlimit`` (CPU seconds, address space, processes, file size, open
files, no core dumps) and ``bwrap``: new user, pid, network, IPC, UTS and cgroup
namespaces; no capabilities; a root of its own where only the interpreter, its standard
library and the system's shared libraries are mounted, read-only (the root too); a
size-limited tmpfs at ``/scratch`` (also ``/tmp``, ``$HOME`` and the working directory), the
only writable place; a fresh ``/proc`` of its own pid namespace
and a minimal ``/dev``; an empty environment; and it dies with its parent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SCRATCH = "/scratch"
# System library folders the interpreter's shared libraries live in (merged-/usr or not).
LIBRARY_DIRS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32")


@dataclass(frozen=True)
class SandboxLimits:
    """What one run may use; the sandbox stops it at the first limit it reaches."""

    cpu_s: int = 10
    wall_s: float = 30.0
    memory_bytes: int = 512 * 1024 * 1024
    processes: int = 16
    output_bytes: int = 200_000
    scratch_bytes: int = 64 * 1024 * 1024
    code_bytes: int = 100_000
    open_files: int = 256


@dataclass(frozen=True)
class Mount:
    """One path of the sandbox's root: a read-only bind of the same host path, or a symlink."""

    path: str
    symlink_to: str | None = None


@dataclass(frozen=True)
class Interpreter:
    """A Python to run code with, and the host paths it needs inside the sandbox."""

    executable: str
    mounts: tuple[Mount, ...]


def prlimit_args(limits: SandboxLimits, process_cap: int) -> list[str]:
    """``prlimit`` options for ``limits``; ``process_cap`` is the per-user process limit.

    The CPU limit's hard value is a second above the soft one: SIGXCPU first (reported as
    the CPU limit), SIGKILL if the program ignores it.
    """
    cpu = max(1, limits.cpu_s)
    return [
        "prlimit",
        f"--cpu={cpu}:{cpu + 1}",
        f"--as={limits.memory_bytes}",
        f"--nproc={process_cap}",
        f"--fsize={limits.scratch_bytes}",
        f"--nofile={limits.open_files}",
        "--core=0",
        "--",
    ]


def bwrap_args(interpreter: Interpreter, limits: SandboxLimits) -> list[str]:
    """``bwrap`` options that isolate one run (see the module docstring), then the command."""
    args = [
        "bwrap",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
    ]
    for mount in interpreter.mounts:
        if mount.symlink_to is not None:
            args += ["--symlink", mount.symlink_to, mount.path]
        else:
            args += ["--ro-bind", mount.path, mount.path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(limits.scratch_bytes), "--tmpfs", SCRATCH, "--symlink", SCRATCH, "/tmp"]
    # The root itself (a tmpfs bwrap makes) read-only: only the size-limited scratch is writable.
    args += ["--remount-ro", "/"]
    args += ["--chdir", SCRATCH, "--clearenv"]
    for name, value in sandbox_env().items():
        args += ["--setenv", name, value]
    args += ["--", interpreter.executable, "-I", "-S", "-"]
    return args


def sandbox_env() -> dict[str, str]:
    return {
        "HOME": SCRATCH,
        "TMPDIR": SCRATCH,
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
    }


def unsandboxed_args(executable: str) -> list[str]:
    """The command of the operator's unsafe opt-out: the interpreter alone (limits still apply)."""
    return [executable, "-I", "-S", "-"]


def interpreter_mounts(
    executable: str, prefix: str, library_dirs: Sequence[tuple[str, str | None]]
) -> tuple[Mount, ...]:
    """The mounts an interpreter needs: its prefix (or just the binary when it lives in
    /usr, whose library folder is mounted anyway) and the system library folders
    (``(path, symlink target or None)`` as found on the host)."""
    mounts = [Mount(path, target) for path, target in library_dirs]
    if prefix.rstrip("/") in ("/usr", ""):
        mounts.append(Mount(executable))
    else:
        mounts.append(Mount(prefix))
    return tuple(mounts)


_SIGNALS = {9: "SIGKILL", 24: "SIGXCPU", 25: "SIGXFSZ", 11: "SIGSEGV", 6: "SIGABRT", 15: "SIGTERM"}


def status_words(returncode: int, *, shell_style: bool = False) -> str:
    """A process's exit status in words (a signal by its name where it is a common one).

    ``shell_style``: the status came through bwrap, which reports a child killed by
    signal N as 128 + N, the way a shell does.
    """
    signal_number = -returncode if returncode < 0 else 0
    if shell_style and 128 < returncode < 128 + 65:
        signal_number = returncode - 128
    if not signal_number:
        return f"exit status {returncode}"
    return f"killed by signal {_SIGNALS.get(signal_number, signal_number)}"
