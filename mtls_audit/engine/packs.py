"""Discovery of rule packs.

A pack is a directory of rule files, loaded as a package of its own so that rule files may
share helpers by relative import. Installed packages declare packs through the entry-point
group ``mtls_audit.rules``; the object behind an entry point is a directory (or a callable
returning one), a module, or an iterable of rules. The built-in pack is declared through that
same group, so it goes through exactly the path a third-party pack takes.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from mtls_audit.engine.rule import Rule, collect_rules
from mtls_audit.errors import RulePackError
from mtls_audit.resources import bundled_dir

ENTRY_POINT_GROUP = "mtls_audit.rules"


@dataclass(frozen=True)
class Pack:
    name: str
    origin: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class PackFailure:
    pack: str
    origin: str
    message: str


def builtin_pack_dir() -> Path:
    """The built-in pack's directory (the target of its entry point)."""
    return bundled_dir("rules")


def _module_name(pack: str) -> str:
    return "mtls_audit_pack_" + re.sub(r"\W", "_", pack)


def load_directory(path: Path, pack: str) -> Pack:
    """Import every rule file below ``path`` and collect the rules they declare."""
    if not path.is_dir():
        raise RulePackError(f"rule pack {pack!r}: {path} is not a directory")
    root = _module_name(pack)
    package = types.ModuleType(root)
    package.__path__ = [str(path)]
    package.__package__ = root
    sys.modules[root] = package
    for stale in [name for name in sys.modules if name.startswith(root + ".")]:
        del sys.modules[stale]  # a pack of the same name loaded before, from another folder
    rules: list[Rule] = []
    for file in sorted(path.rglob("*.py")):
        rel = file.relative_to(path).with_suffix("")
        if any(part.startswith((".", "__pycache__")) for part in rel.parts):
            continue
        parts = [p for p in rel.parts if p != "__init__"]
        name = ".".join([root, *parts])
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # a broken pack must fail loudly, never crash the run
            raise RulePackError(
                f"rule pack {pack!r}: {file} cannot be loaded: {type(exc).__name__}: {exc}"
            ) from exc
        for found in collect_rules(vars(module)):
            if found.judge.__module__ == module.__name__:
                rules.append(_in_pack(found, pack))
    return Pack(pack, str(path), tuple(rules))


def _in_pack(rule: Rule, pack: str) -> Rule:
    from dataclasses import replace

    return replace(rule, pack=pack)


def _load_object(obj: Any, pack: str, origin: str) -> Pack:
    if callable(obj) and not isinstance(obj, types.ModuleType | Rule):
        obj = obj()
    if isinstance(obj, str | Path):
        return load_directory(Path(obj), pack)
    if isinstance(obj, types.ModuleType):
        return Pack(pack, origin, tuple(_in_pack(r, pack) for r in collect_rules(vars(obj))))
    if isinstance(obj, Iterable):
        items = list(obj)
        if all(isinstance(r, Rule) for r in items):
            return Pack(pack, origin, tuple(_in_pack(r, pack) for r in items))
    raise RulePackError(
        f"rule pack {pack!r} ({origin}): the entry point gives {type(obj).__name__}, "
        "expected a directory, a module or rules"
    )


def load_entry_point(ep: EntryPoint) -> Pack:
    origin = f"entry point {ep.value}"
    try:
        obj = ep.load()
    except Exception as exc:
        raise RulePackError(
            f"rule pack {ep.name!r} ({origin}) cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    return _load_object(obj, ep.name, origin)


def discover(
    extra_dirs: Sequence[Path] = (), *, disabled: Iterable[str] = ()
) -> tuple[list[Pack], list[PackFailure]]:
    """Every pack: installed entry points (the built-in one among them), then directories.

    A pack that fails to load is reported, never skipped silently; two packs declaring the
    same rule id are an error for the later one.
    """
    off = set(disabled)
    packs: list[Pack] = []
    failures: list[PackFailure] = []
    candidates: list[tuple[str, str, Any]] = []
    eps = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name != "builtin", e.name))
    for ep in eps:
        candidates.append((ep.name, f"entry point {ep.value}", ep))
    if not any(ep.name == "builtin" for ep in eps):
        # Running from a source tree that was never installed: same loader, same directory.
        candidates.insert(0, ("builtin", "source tree", builtin_pack_dir()))
    for directory in extra_dirs:
        candidates.append((directory.name or str(directory), str(directory), directory))
    seen: dict[str, str] = {}
    for name, origin, target in candidates:
        if name in off:
            continue
        try:
            pack = (
                load_entry_point(target)
                if isinstance(target, EntryPoint)
                else load_directory(Path(target), name)
            )
        except RulePackError as exc:
            failures.append(PackFailure(name, origin, str(exc)))
            continue
        clash = [r.id for r in pack.rules if r.id in seen]
        if clash:
            failures.append(
                PackFailure(
                    name,
                    origin,
                    f"rule ids already declared by pack {seen[clash[0]]!r}: "
                    + ", ".join(sorted(clash)),
                )
            )
            continue
        seen.update({r.id: name for r in pack.rules})
        packs.append(pack)
    return packs, failures
