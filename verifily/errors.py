"""Errors every entry point maps the same way: CLI exit codes, HTTP statuses, Dagster failures."""

from __future__ import annotations


class VerifilyError(Exception):
    """Base class for errors that carry a user-facing message (never a traceback)."""

    exit_code = 70
    http_status = 500


class InputError(VerifilyError):
    """The request or its input data is wrong: a missing file, a bad record, a bad option."""

    exit_code = 65
    http_status = 400


class DatasetError(InputError):
    """A dataset artifact failed verification; carries every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        shown = problems[:20]
        more = f"\n... and {len(problems) - 20} more problems" if len(problems) > 20 else ""
        super().__init__("\n".join(shown) + more)


class NotImplementedModeError(VerifilyError):
    """A mode that is gated or not built yet (the API maps it to HTTP 501)."""

    exit_code = 69
    http_status = 501


class NotFound(InputError):
    """A named thing (an approval, a job) does not exist."""

    http_status = 404


class Conflict(VerifilyError):
    """The request is well formed but the state refuses it: an approval already closed or
    expired, a champion that moved since the decision. Nothing was changed."""

    exit_code = 1
    http_status = 409
