"""The command line's parser: a flag for every setting, and mistakes said in one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from reform_search.output import refuse
from reform_search.settings import GROUPS, Settings


def settings_parser(groups: Iterable[str] = GROUPS) -> argparse.ArgumentParser:
    """Flags for the settings of `groups` (settings.GROUPS: what a command reads), generated from the
    settings table so help and defaults never drift; each group under its own title in --help."""
    parent = argparse.ArgumentParser(add_help=False)
    for group in groups:
        flags = parent.add_argument_group(f"settings: {GROUPS[group][0]}")
        for name in GROUPS[group][1].split():
            default = Settings.default(name)
            switch = Settings.choices(name) == ("on", "off") or Settings.choices(name) == ("off", "on")
            flags.add_argument(
                "--" + name.replace("_", "-"),
                dest=name,
                default=None,
                nargs="?" if switch else None,  # an on/off setting given alone means on: --read-only
                const="on" if switch else None,
                choices=Settings.choices(name),
                metavar=None if Settings.choices(name) else name.upper(),
                help=f"{Settings.help(name)} (default: {default})",
            )
    parent.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    return parent


class Parser(argparse.ArgumentParser):
    """argparse, with a mistyped argument said in one line (the usage it prints first had run to 30
    lines, the error last): exit 2, and where the help is; with --json among the arguments, also as one
    JSON object on stdout, as every refusal is (output.refuse)."""

    given: tuple[str, ...] = ()  # the arguments being parsed

    def parse_args(self, args=None, namespace=None):
        # on the class: a command's own parser (a subparser) says its errors with the same arguments
        Parser.given = tuple(sys.argv[1:] if args is None else args)
        return super().parse_args(args, namespace)

    def error(self, message: str):
        commands = self._subparsers._group_actions[0].choices if self._subparsers else {}
        at = next((n for n, a in enumerate(self.given) if a in commands), None)
        helps = self.prog  # whose help explains the mistake
        if at is not None and (at or message.startswith("unrecognized arguments")):
            # a flag the command does not take is found by the main parser after the command's own, and
            # its help is the command's (`reform-search search --help`)
            helps = commands[self.given[at]].prog
        if at and self.given[0].startswith("--"):  # `reform-search --json search …`
            flag, command = self.given[0], self.given[at]
            if flag.split("=")[0] in commands[command]._option_string_actions:
                message = f"{flag} goes after the command: reform-search {command} … {flag}"
            else:  # a setting of another command's (`--port` before `compare`)
                message = f"{command} takes no {flag}"
        # said as every refusal is (output.refuse), the command named by the help it points to
        raise SystemExit(refuse(f"{message} (see {helps} --help)", "--json" in self.given))
