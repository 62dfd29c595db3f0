"""The strategy operators; importing this package registers every one of them."""

from agents.strategies.operators import (
    aggregation,  # noqa: F401
    compiler,  # noqa: F401
    debate,  # noqa: F401
    got,  # noqa: F401
    judges,  # noqa: F401
    skeleton,  # noqa: F401
    spawn,  # noqa: F401
    tournament,  # noqa: F401
    tree,  # noqa: F401
    vote,  # noqa: F401
)
