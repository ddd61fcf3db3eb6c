"""Typed command-line options: each group of options reaches its command as one frozen
dataclass, so that what a command was given is typed from the click layer down.

A group is a decorator: it adds its options to the command and hands the command one keyword
argument, the dataclass built from them. The dataclass's fields are the options' names; a group
whose options and fields disagree is refused when it is defined.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, Generic, TypeVar

import click

T = TypeVar("T")
R = TypeVar("R")
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class OptionGroup(Generic[T]):
    """Options that build one ``kind`` (a dataclass), given to the command as ``keyword``."""

    def __init__(self, keyword: str, kind: type[T], *options: Decorator) -> None:
        self.keyword = keyword
        self.kind = kind
        self.options = options
        self.names = option_names(options)
        wanted = tuple(f.name for f in fields(kind))  # type: ignore[arg-type]
        if sorted(self.names) != sorted(wanted):
            raise TypeError(f"the options {self.names} do not build {kind.__name__} {wanted}")

    def take(self, params: dict[str, Any]) -> T:
        """The group's dataclass, its values taken out of a command's ``params``."""
        return self.kind(**{name: params.pop(name) for name in self.names})

    def __call__(self, func: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(func)
        def command(*args: Any, **params: Any) -> R:
            built = self.take(params)
            return func(*args, **params, **{self.keyword: built})

        decorated: Callable[..., R] = command
        for option in reversed(self.options):
            decorated = option(decorated)
        return decorated


def option_names(options: tuple[Decorator, ...]) -> tuple[str, ...]:
    """The parameter names click gives ``options`` (applied to a function of no use)."""

    def probe() -> None:
        """Holds the options while their names are read."""

    for option in options:
        option(probe)
    params: list[click.Parameter] = getattr(probe, "__click_params__", [])
    return tuple(str(p.name) for p in params)


def enum_value(kind: Callable[[str], T]) -> Callable[[click.Context, click.Parameter, str], T]:
    """A callback turning a ``click.Choice`` of an enum's values into the member (the help text
    keeps the values)."""

    def convert(_: click.Context, __: click.Parameter, value: str) -> T:
        return kind(value)

    return convert


class LazyGroup(click.Group):
    """A group some of whose commands are imported only when run or listed (``--help``): a
    command a run does not use costs it nothing at start-up. ``lazy`` maps a command's name to
    ``"module:attribute"``; the commands are listed in name order, as click lists its own."""

    def __init__(self, *args: Any, lazy: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = self.lazy.get(cmd_name)
        if where is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{where} is not a command")
        return command
