"""Resolve a trainer name: a built-in one, or a bring-your-own `package.module:function`."""

from __future__ import annotations

import importlib
from typing import cast

from verifily.errors import InputError
from verifily.training.builtin import BUILTIN_TRAINERS
from verifily.training.interface import Trainer


def is_entry_point(name: str) -> bool:
    """A `module:function` reference rather than a built-in trainer name."""
    return ":" in name


def load_trainer(name: str) -> Trainer:
    """The trainer callable for a built-in name or a `module:function` entry point.

    Every way the reference can be wrong is an InputError naming it, raised before any
    training starts.
    """
    if name in BUILTIN_TRAINERS:
        return BUILTIN_TRAINERS[name]
    if not is_entry_point(name):
        raise InputError(
            f"unknown trainer {name!r}: use one of {', '.join(sorted(BUILTIN_TRAINERS))}, "
            "auto, or a 'package.module:function' entry point"
        )
    module_name, _, attr = name.partition(":")
    if not module_name or not attr:
        raise InputError(f"trainer entry point {name!r} must look like 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise InputError(
            f"trainer entry point {name!r}: module {e.name!r} not found "
            "(is it installed or on PYTHONPATH?)"
        ) from None
    except Exception as e:
        raise InputError(
            f"trainer entry point {name!r}: importing {module_name!r} failed: "
            f"{type(e).__name__}: {e}"
        ) from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InputError(f"trainer entry point {name!r}: {module_name!r} has no {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise InputError(f"trainer entry point {name!r} is not callable")
    return cast(Trainer, obj)
