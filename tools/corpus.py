"""The documents research agents search and read: a folder of .md/.txt files or a built-in set.

The built-in corpus is the CPython language-reference topics that ship with every
Python (``pydoc_data.topics``, the text behind ``help("with")``), so a job can
research offline with no download.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import ConfigError, ToolError

SUFFIXES = (".md", ".txt")
_ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


@dataclass(frozen=True)
class Document:
    """One document: its id (what agents cite and read by), title and full text."""

    id: str
    title: str
    text: str
    path: str | None = None


class Corpus:
    """A set of documents with unique ids."""

    def __init__(self, documents: Iterable[Document]) -> None:
        self.documents: list[Document] = list(documents)
        self._by_id: dict[str, Document] = {}
        for doc in self.documents:
            if doc.id in self._by_id:
                raise ConfigError(
                    f"two documents have the id {doc.id!r} ({self._by_id[doc.id].path or '?'} "
                    f"and {doc.path or '?'}); ids must be unique, so rename one of them"
                )
            self._by_id[doc.id] = doc

    def get(self, doc_id: str) -> Document:
        """The document with this id; an unknown id raises ToolError naming close ids."""
        try:
            return self._by_id[doc_id]
        except KeyError:
            close = difflib.get_close_matches(doc_id, self._by_id, n=5, cutoff=0.5)
            hint = (
                f"did you mean {', '.join(repr(c) for c in close)}?"
                if close
                else "use an id from the search results ([doc-id] at the start of each line)"
            )
            raise ToolError(f"no document with id {doc_id!r}; {hint}") from None

    def __len__(self) -> int:
        return len(self.documents)

    def __iter__(self) -> Iterator[Document]:
        return iter(self.documents)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._by_id

    @classmethod
    def load_folder(cls, path: Path) -> Corpus:
        """Every non-empty .md/.txt file under ``path`` (recursively; hidden files skipped).

        A document's id is its path relative to ``path`` without the suffix
        (``guides/install``); its title is its first Markdown heading, else the file name.
        """
        root = Path(path).expanduser()
        if not root.is_dir():
            what = "is a file, not a folder" if root.exists() else "does not exist"
            raise ConfigError(
                f"corpus folder {str(root)!r} {what}; pass a folder of .md/.txt documents "
                f"(or leave --corpus out to use the built-in Python docs)"
            )
        documents: list[Document] = []
        for file in sorted(root.rglob("*")):
            relative = file.relative_to(root)
            if (
                file.suffix.lower() not in SUFFIXES
                or any(part.startswith(".") for part in relative.parts)
                or not file.is_file()
            ):
                continue
            # Undecodable bytes become U+FFFD: one odd file should not sink the corpus.
            text = file.read_text(encoding="utf-8", errors="replace")
            if not text.strip():
                continue
            documents.append(
                Document(
                    id=relative.with_suffix("").as_posix(),
                    title=markdown_title(text) or file.stem,
                    text=text,
                    path=str(file),
                )
            )
        if not documents:
            raise ConfigError(
                f"corpus folder {str(root)!r} holds no non-empty {' or '.join(SUFFIXES)} files; "
                f"add some documents there or point --corpus at another folder"
            )
        return cls(documents)

    @staticmethod
    @functools.lru_cache(maxsize=1)
    def builtin() -> Corpus:
        """The Python language-reference topics shipped with CPython (about 80 documents)."""
        from pydoc_data.topics import topics

        # Some topics share one text ('else' and 'if'); keep one document per text, under the
        # key its heading names, so search results do not repeat themselves.
        keys_by_text: dict[str, list[str]] = {}
        for key, text in topics.items():
            keys_by_text.setdefault(text, []).append(key)
        documents = []
        for text, keys in keys_by_text.items():
            title = topic_title(keys[0], text)
            key = min(keys, key=lambda k: (f'"{k}"' not in title, k))
            documents.append(Document(id=key, title=title, text=text))
        return Corpus(sorted(documents, key=lambda doc: doc.id))


def markdown_title(text: str) -> str | None:
    """The first Markdown heading of ``text`` (``# Title`` or an underlined line), if any."""
    previous = ""
    in_code = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_code, previous = not in_code, ""
            continue
        if in_code:
            continue
        atx = _ATX_HEADING.match(line)
        if atx:
            return atx.group(1).strip()
        if previous.strip() and _SETEXT_UNDERLINE.match(line):
            return previous.strip()
        previous = line
    return None


def topic_title(key: str, text: str) -> str:
    """A pydoc topic's heading (its first line, underlined with ``*``), else the key."""
    lines = text.lstrip().splitlines()
    if len(lines) > 1 and lines[0].strip() and set(lines[1].strip()) <= {"*", "="}:
        return lines[0].strip()
    return key.replace("-", " ").capitalize()
