"""Turn parsed YAML into typed, frozen dataclasses, collecting every error with its field path.

Each dataclass field's type hint is the schema. Unknown keys are errors (a typo must never be
silently ignored) and every message says what is wrong and how to fix it.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from datetime import timedelta
from typing import Any, Literal, TypeVar, Union

T = TypeVar("T")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Secret:
    """A credential from the config: usable by adapters, never shown by repr/str/logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


def parse_duration(text: str) -> timedelta:
    """`30s`, `5m`, `1h`, `14d`, `2w` -> timedelta. Raises ValueError with the accepted forms."""
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(
            f"{text!r} is not a duration; write a number and a unit, like 30s, 5m, 1h or 14d"
        )
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


class Errors:
    """Collects validation errors, each as `path: problem. Fix: ...`."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, problem: str, fix: str) -> None:
        self.items.append(f"{path or '(top level)'}: {problem}. Fix: {fix}")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if tp is timedelta:
        return "a duration like 30s, 5m, 1h or 14d"
    if tp is Secret:
        return 'a string (best written as "${ENV_VAR}")'
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (list, tuple):
        return f"a list of {_describe(args[0])[2:] if _describe(args[0]).startswith('a ') else _describe(args[0])}s"
    if origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args if a is not type(None))
    return str(tp)


def convert(value: Any, tp: Any, path: str, errors: Errors) -> Any:
    """Convert `value` to type `tp`; on a problem record it and return None."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return convert(value, inner[0], path, errors)
        for candidate in inner:
            trial = Errors()
            result = convert(value, candidate, path, trial)
            if not trial.items:
                return result
        errors.add(path, f"got {value!r}", f"use {_describe(tp)}")
        return None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build(tp, value, path, errors)
    if origin is Literal:
        if value in args:
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        errors.add(path, f"{value!r} is not allowed{hint}", f"use {_describe(tp)}")
        return None
    if origin in (list, tuple):
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            errors.add(path, f"expected a list, got {value!r}", f"write it as a list: [{value!r}]")
            return None
        if not isinstance(value, list):
            errors.add(path, f"expected a list, got {type(value).__name__}", "write [a, b, ...]")
            return None
        items = [convert(v, args[0], _join(path, i), errors) for i, v in enumerate(value)]
        return tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            errors.add(path, f"expected a mapping, got {value!r}", "write `key: value` lines")
            return None
        return {str(k): convert(v, args[1], _join(path, str(k)), errors) for k, v in value.items()}
    return _scalar(value, tp, path, errors)


def _scalar(value: Any, tp: Any, path: str, errors: Errors) -> Any:
    if tp is timedelta:
        try:
            return parse_duration(value)
        except ValueError as exc:
            errors.add(path, str(exc).split(";")[0], "write a number and a unit: 30s, 5m, 1h, 14d")
            return None
    if tp is Secret:
        if isinstance(value, str):
            return Secret(value)
        errors.add(path, f"expected a string, got {type(value).__name__}", 'write "${ENV_VAR}"')
        return None
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    else:  # pragma: no cover - a schema bug, not a user error
        raise TypeError(f"unsupported config type {tp!r} at {path}")
    errors.add(path, f"expected {_describe(tp)}, got {value!r}", f"use {_describe(tp)}")
    return None


def build(cls: type[T], data: Any, path: str, errors: Errors) -> T | None:
    """Build dataclass `cls` from a mapping, checking unknown keys, required keys and types."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        errors.add(path, f"expected a mapping, got {data!r}", "write `key: value` lines under it")
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    aliases = getattr(cls, "yaml_aliases", {})
    names = {aliases.get(n, n): n for n in fields}
    kwargs: dict[str, Any] = {}
    ok = True
    retired = getattr(cls, "yaml_retired", {})
    for key, value in data.items():
        key = str(key)
        if key in retired and key not in names:
            errors.add(_join(path, key), "this key was retired", retired[key])
            ok = False
            continue
        if key not in names:
            close = difflib.get_close_matches(key, list(names), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            errors.add(
                _join(path, key),
                "unknown key",
                f"{hint}remove it, or use one of: {', '.join(sorted(names))}",
            )
            ok = False
            continue
        before = len(errors.items)
        converted = convert(value, hints[names[key]], _join(path, key), errors)
        if len(errors.items) > before:
            ok = False
        else:
            kwargs[names[key]] = converted
    for yaml_name, name in names.items():
        f = fields[name]
        missing = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if missing and yaml_name not in data:
            errors.add(
                _join(path, yaml_name),
                "required key is missing",
                f"add {yaml_name}: <{_describe(hints[name])}>",
            )
            ok = False
    if not ok:
        return None
    try:
        return cls(**kwargs)
    except ValueError as exc:
        errors.add(
            path,
            str(exc),
            f"change the values under {path or 'the top level'} as it says (monitor.example.yaml shows each key)",
        )
        return None


def did_you_mean(value: str, options: typing.Iterable[str]) -> str:
    """` (did you mean 'Acme'?)` for the closest option, any case; empty if none is close."""
    choices = list(options)
    folded = {c.casefold(): c for c in choices}
    close = difflib.get_close_matches(value.casefold(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean {folded[close[0]]!r}?)" if close else ""
