"""The strategy operators; importing this package registers every one of them."""

from agents.strategies.operators import vote  # noqa: F401
