"""The ``python`` tool: run a short Python program in the sandbox and read its output."""

from __future__ import annotations

from tools.registry import Tool, make_tool
from tools.sandbox import Sandbox


def python_tool(sandbox: Sandbox) -> Tool:
    """The ``python`` tool over ``sandbox`` (bubblewrap, with CPU/memory/output limits)."""
    limits = sandbox.limits

    async def python(code: str) -> str:
        """Run a Python program in a sandbox and return its exit status, stdout and stderr.

        Print what you want to see. The standard library is available; the network and
        the host's files are not (write files under the current folder only). Limits:
        a few seconds of CPU, a few hundred MB of memory, a little output.

        Args:
            code: the whole program, e.g. "import math\\nprint(math.comb(52, 5))".
        """
        result = await sandbox.run(code)
        return result.report()

    return make_tool(python, concurrency=2, timeout_s=limits.wall_s + 30)
