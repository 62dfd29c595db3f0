"""Stop strings over a stream of token pieces, for backends that decode token by token.

A stop string may span several tokens, so a piece that could be the start of one is
held back until the next pieces decide. ``StopWindow`` releases whole tokens (each with
its payload, e.g. its logprob) once they are known to come before any stop string, and
cuts the token a stop string begins in. Pure: strings in, strings out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class _Piece(Generic[T]):
    start: int
    text: str
    payload: T


class StopWindow(Generic[T]):
    """Feed token pieces with ``add``; get back the pieces that are safe to emit."""

    def __init__(self, stops: Sequence[str] = ()) -> None:
        self.stops = [s for s in dict.fromkeys(stops) if s]
        self.stopped = False
        self._text = ""
        self._held: list[_Piece[T]] = []
        self._longest = max((len(s) for s in self.stops), default=0)

    @property
    def text(self) -> str:
        """Everything added so far, cut before the first stop string."""
        return self._text

    def add(self, piece: str, payload: T) -> list[tuple[str, T]]:
        """Add one token's text; returns the (text, payload) pairs released by it, in order.

        After a stop string is found, ``stopped`` is true and further pieces are ignored.
        """
        if self.stopped:
            return []
        start = len(self._text)
        self._text += piece
        self._held.append(_Piece(start, piece, payload))
        hit = self._find_stop(start)
        if hit is not None:
            self.stopped = True
            self._text = self._text[:hit]
            return self._release(hit, cut=True)
        return self._release(len(self._text) - self._pending_prefix(), cut=False)

    def finish(self) -> list[tuple[str, T]]:
        """Release whatever is still held back (the text ended without a stop string)."""
        return self._release(len(self._text), cut=True)

    def _find_stop(self, start: int) -> int | None:
        # A stop string not found before this piece must end inside it.
        window_start = max(0, start - self._longest + 1)
        hits = [i for s in self.stops if (i := self._text.find(s, window_start)) != -1]
        return min(hits) if hits else None

    def _pending_prefix(self) -> int:
        """Length of the longest text suffix that is a proper prefix of a stop string."""
        for size in range(min(self._longest - 1, len(self._text)), 0, -1):
            tail = self._text[-size:]
            if any(s.startswith(tail) for s in self.stops):
                return size
        return 0

    def _release(self, limit: int, *, cut: bool) -> list[tuple[str, T]]:
        """Release held pieces that end by ``limit``; with ``cut``, also the one it splits."""
        released: list[tuple[str, T]] = []
        while self._held:
            head = self._held[0]
            end = head.start + len(head.text)
            if end <= limit:
                released.append((head.text, head.payload))
            elif cut and head.start < limit:
                released.append((head.text[: limit - head.start], head.payload))
            elif cut:
                pass  # entirely after the stop string: dropped
            else:
                break
            self._held.pop(0)
        return released
