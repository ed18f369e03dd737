"""Every command has help with an example, answers -h, and appears in the README."""

from pathlib import Path

import click

from consentry import cli as cli_module

ROOT = Path(__file__).resolve().parent.parent
# the README, and the guides in docs/ it points to (deploying to a public chain: docs/DEPLOYING.md)
README = (ROOT / "README.md").read_text() + "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))


def documented() -> set[str]:
    """Commands the README names, with `node start|stop|status` read as three."""
    import re

    out = set()
    for m in re.finditer(r"consentry ([a-z0-9]+)(?: ([a-z|-]+))?(?: ([a-z|-]+))?", README):
        group, subs, leaves = m.group(1), m.group(2), m.group(3)
        out.add(group)
        for sub in (subs or "").split("|"):
            if sub:
                out.add(f"{group} {sub}")
                out.update(f"{group} {sub} {leaf}" for leaf in (leaves or "").split("|") if leaf)
    return out


def commands(group=cli_module.cli, prefix=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,), cmd


def test_every_command_has_help_with_an_example_and_is_documented(cli):
    found = list(commands())
    assert len(found) >= 20
    for path, cmd in found:
        assert cmd.help and "Example:" in cmd.help, path
        out = cli.run(*path, "-h").stdout
        assert "Usage:" in out
        assert " ".join(path) in documented(), f"README does not mention `consentry {' '.join(path)}`"
