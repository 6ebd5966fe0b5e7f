"""What every command prints the same way: JSON objects, and a progress bar on stderr."""

import json
import sys

import click


def print_json(obj: object) -> None:
    """Indented, key-sorted JSON on stdout."""
    click.echo(json.dumps(obj, indent=2, sort_keys=True))


class ProgressBar:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        pct = done * 100 // total if total else 100
        if self.tty and pct != self.last:
            self.last = pct
            bar = "#" * (pct // 4)
            click.echo(f"\r{self.label} [{bar:<25}] {pct:3d}%", nl=pct == 100, err=True)
