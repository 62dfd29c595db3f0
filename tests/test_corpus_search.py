"""Corpora (a folder, the built-in Python docs), BM25 search, snippets and the search/read tools."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import ConfigError, ToolError
from tools.bm25 import BM25Index, snippet, stem, tokenize
from tools.builtin import corpus_index, corpus_tools
from tools.corpus import Corpus, Document, markdown_title


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path, "intro.md", "Some preface.\n\n# Getting started\n\nInstall the tool with pip.")
    write(
        tmp_path, "guides/deploy.md", "Deploying\n=========\n\nShip the container to the cluster."
    )
    write(tmp_path, "guides/deep/tuning.txt", "Tune the cache size and the worker count.")
    write(tmp_path, "notes/code.md", "```\n# not a heading\n```\n\n## Real heading ##\n\nText.")
    write(tmp_path, "skip.py", "# Python, not a document")
    write(tmp_path, ".hidden/secret.md", "# Hidden")
    write(tmp_path, "blank.md", "  \n\n")
    return tmp_path


def test_load_folder_reads_md_and_txt_recursively(folder: Path) -> None:
    corpus = Corpus.load_folder(folder)
    by_id = {doc.id: doc for doc in corpus.documents}
    assert sorted(by_id) == ["guides/deep/tuning", "guides/deploy", "intro", "notes/code"]
    assert by_id["intro"].title == "Getting started"
    assert by_id["guides/deploy"].title == "Deploying"
    assert by_id["guides/deep/tuning"].title == "tuning"
    assert by_id["notes/code"].title == "Real heading"
    assert by_id["guides/deep/tuning"].text == "Tune the cache size and the worker count."
    assert by_id["intro"].path == str(folder / "intro.md")
    assert corpus.get("guides/deploy") is by_id["guides/deploy"]
    assert "intro" in corpus and len(corpus) == 4


def test_markdown_title_prefers_the_first_heading() -> None:
    assert markdown_title("text\n\n### Third level ###\n# Later") == "Third level"
    assert markdown_title("Setext two\n----------\n") == "Setext two"
    assert markdown_title("no heading here\n\n---\n") is None


def test_missing_folder_error_names_it_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'.*missing' does not exist; pass a folder") as info:
        Corpus.load_folder(tmp_path / "missing")
    assert "--corpus" in str(info.value)


def test_folder_without_documents_error_names_it_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"holds no non-empty \.md or \.txt files"):
        Corpus.load_folder(tmp_path)
    write(tmp_path, "code.py", "print('not a document')")
    write(tmp_path, "empty.md", "")
    with pytest.raises(ConfigError, match=rf"{tmp_path.name}' holds no .*add some documents"):
        Corpus.load_folder(tmp_path)


def test_load_folder_rejects_a_file_and_clashing_ids(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "# A")
    with pytest.raises(ConfigError, match=r"is a file, not a folder"):
        Corpus.load_folder(tmp_path / "a.md")
    write(tmp_path, "a.txt", "also a")
    with pytest.raises(ConfigError, match=r"two documents have the id 'a'.*rename one"):
        Corpus.load_folder(tmp_path)


def test_unknown_id_suggests_close_ids(folder: Path) -> None:
    corpus = Corpus.load_folder(folder)
    with pytest.raises(ToolError, match=r"no document with id 'guides/deplyo'; did you mean "):
        corpus.get("guides/deplyo")
    with pytest.raises(ToolError, match=r"use an id from the search results"):
        corpus.get("zzzzzzzz")


def test_builtin_corpus_is_the_python_reference() -> None:
    corpus = Corpus.builtin()
    assert corpus is Corpus.builtin()  # cached
    assert len(corpus) > 60
    ids = [doc.id for doc in corpus.documents]
    assert len(ids) == len(set(ids))
    with_doc = corpus.get("with")
    assert with_doc.title == 'The "with" statement'
    assert "context manager" in with_doc.text
    assert corpus.get("context-managers").title == "With Statement Context Managers"
    # 'else' and 'if' share one text in pydoc; it is kept once, under 'if'.
    assert "if" in corpus and "else" not in corpus
    assert all(doc.title and "*" not in doc.title for doc in corpus.documents)


def test_tokenizer_lowercases_drops_stopwords_and_folds_plurals() -> None:
    assert tokenize("The Classes of the statements, with __enter__!") == [
        "class",
        "statement",
        "with",
        "__enter__",
    ]
    assert [stem(w) for w in ("entries", "processes", "status", "cycles")] == [
        "entry",
        "process",
        "status",
        "cycle",
    ]


@pytest.mark.parametrize(
    ("query", "expected_top", "also_in_top3"),
    [
        ("with statement context manager", None, {"with", "context-managers"}),
        ("__enter__ __exit__", "with", set()),
        ("operator precedence", "operator-summary", set()),
        ("lambda anonymous function", "lambda", set()),
        ("coroutine async await", "async", {"await"}),
        ("garbage collector reference cycles", None, {"customization", "objects"}),
    ],
)
def test_builtin_search_ranks_the_relevant_topic(
    query: str, expected_top: str | None, also_in_top3: set[str]
) -> None:
    results = corpus_index(Corpus.builtin()).search(query, k=3)
    ids = [doc.id for doc, _ in results]
    if expected_top is not None:
        assert ids[0] == expected_top, ids
    assert also_in_top3 <= set(ids), ids
    scores = [score for _, score in results]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0


def test_search_in_a_two_document_corpus_still_ranks() -> None:
    # rank_bm25's own idf is 0 for a word in one of two documents; ours stays positive.
    docs = [Document("a", "Apples", "red fruit"), Document("b", "Bananas", "yellow fruit")]
    index = BM25Index(docs)
    assert [doc.id for doc, _ in index.search("yellow")] == ["b"]
    assert index.search("grape") == []
    assert index.search("the of") == []
    assert BM25Index([]).search("anything") == []


def test_snippet_shows_the_best_matching_window() -> None:
    filler = "lorem ipsum dolor sit amet " * 40
    text = f"{filler}the worker pool restarts crashed workers {filler}"
    doc = Document("d", "D", text)
    shown = snippet(doc, "crashed workers", width=120)
    assert "crashed workers" in shown
    assert shown.startswith("…") and shown.endswith("…")
    assert len(shown) <= 122
    short = Document("s", "S", "A short\n\n   text.")
    assert snippet(short, "nothing matches", width=100) == "A short text."


async def test_search_tool_lines_name_id_title_and_snippet() -> None:
    tools = corpus_tools(Corpus.builtin())
    assert tools.names() == ["search", "read"]
    out = await tools.call("search", {"query": "with statement context manager", "k": 2})
    lines = out.splitlines()
    assert len(lines) == 2
    assert any(line.startswith('[with] The "with" statement — ') for line in lines), out
    assert all("context manager" in line.lower() for line in lines)
    assert "no document matches" in await tools.call("search", {"query": "zyzzyva quux"})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"query": "with", "k": 0}, r"argument 'k' = 0"),
        ({"query": "with", "k": 11}, r"argument 'k' = 11"),
        ({"query": "the of a"}, r"has no searchable words"),
    ],
)
async def test_search_tool_rejects_bad_requests(args: dict[str, object], expected: str) -> None:
    tools = corpus_tools(Corpus.builtin())
    with pytest.raises(ToolError, match=expected):
        await tools.call("search", args)


async def test_read_tool_pages_through_a_document(folder: Path) -> None:
    corpus = Corpus.load_folder(folder)
    tools = corpus_tools(corpus)
    text = corpus.get("guides/deep/tuning").text  # 41 characters
    first = await tools.call("read", {"doc_id": "guides/deep/tuning", "length": 20})
    assert first.startswith(f"[guides/deep/tuning] tuning (characters 0-20 of {len(text)})")
    assert text[:20] in first
    assert first.endswith(
        f"[{len(text) - 20} more characters: read(doc_id='guides/deep/tuning', offset=20)]"
    )
    rest = await tools.call("read", {"doc_id": "guides/deep/tuning", "offset": 20})
    assert text[20:] in rest and rest.endswith("[end of document]")
    with pytest.raises(ToolError, match=rf"offset 99 is past the end .*below {len(text)}"):
        await tools.call("read", {"doc_id": "guides/deep/tuning", "offset": 99})
    with pytest.raises(ToolError, match=r"tool 'read' failed: no document with id 'intr'.*'intro'"):
        await tools.call("read", {"doc_id": "intr"})


def test_the_index_is_built_once_per_corpus(folder: Path) -> None:
    corpus = Corpus.load_folder(folder)
    assert corpus_index(corpus) is corpus_index(corpus)
    assert corpus_index(corpus) is not corpus_index(Corpus.load_folder(folder))
