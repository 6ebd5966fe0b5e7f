"""Reading a YAML configuration file, with errors that name the file."""

import errno
import os
from pathlib import Path

import yaml

from verifily.errors import InputError


def load_yaml_file(path: str | os.PathLike, what: str) -> object:
    """The parsed file ({} when empty); InputError naming the file for anything that keeps it
    from being read as YAML: missing, a directory, unreadable, not UTF-8, not valid YAML."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
        return yaml.safe_load(text) or {}
    except FileNotFoundError:
        raise InputError(f"{p}: {what} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, not a {what} file") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: {what} is not valid UTF-8 (byte {e.start})") from None
    except yaml.YAMLError as e:
        # One line: the file and line, and PyYAML's problem without its multi-line excerpt.
        mark = getattr(e, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(f"{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise InputError(f"{p}: not valid YAML: nested too deeply") from None
    except OSError as e:
        reason = e.strerror or errno.errorcode.get(e.errno or 0, str(e))
        raise InputError(f"{p}: cannot read {what}: {reason}") from None
