"""Reading the YAML and TOML settings files of the audit operations (waivers, schedules).

Every YAML document the tool reads goes through :class:`StrictLoader` (PyYAML's safe loader,
stricter): aliases are refused, since a few hundred bytes of nested aliases expand to gigabytes
(a "billion laughs"), and settings files have no use for them; a key given twice is refused
rather than silently keeping the last; nesting is bounded. Apart from ``files``, so that a run
given no settings file does not load PyYAML.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode

from mtls_audit.audit.files import AuditInputError, quoted, read_bytes
from mtls_audit.document_limits import MAX_DEPTH, document_problem
from mtls_audit.evidence.reader import visible
from mtls_audit.wording import clip


class StrictLoader(yaml.SafeLoader):
    """The safe loader without aliases or duplicate keys, and with bounded nesting."""

    depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            raise ComposerError(
                None, None, "aliases (*name) are not accepted in this file", event.start_mark
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the safe loader's own error follows
                continue
            if repeated:
                raise ConstructorError(
                    None, None, f"the key {quoted(key)} is given twice", key_node.start_mark
                )
        return super().construct_mapping(node, deep)


def read_settings(path: Path, what: str) -> Any:
    """A YAML (``.yaml``, ``.yml``, anything else) or TOML (``.toml``) document."""
    data = read_bytes(path, what)
    try:
        if path.suffix.lower() == ".toml":
            document = tomllib.loads(data.decode("utf-8"))
        else:
            document = yaml.load(data.decode("utf-8"), Loader=StrictLoader)
    except UnicodeDecodeError:
        raise AuditInputError(f"the {what} is not UTF-8 text", source=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise AuditInputError(f"not valid TOML: {exc}", source=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = clip(visible(getattr(exc, "problem", None) or str(exc)), 200)
        raise AuditInputError(f"not valid YAML: {problem}", source=str(path), where=where) from None
    except RecursionError:
        raise AuditInputError(f"the {what} is nested too deeply", source=str(path)) from None
    found = document_problem(document)
    if found:
        raise AuditInputError(found[0], source=str(path), where=found[1])
    return document


def item_lines(path: Path, key: str) -> list[int] | None:
    """The line of each item of a YAML file's top-level list ``key`` (already read and checked
    by :func:`read_settings`); None for TOML, which keeps no positions."""
    if path.suffix.lower() == ".toml":
        return None
    root = yaml.compose(read_bytes(path, "file").decode("utf-8"), Loader=StrictLoader)
    if not isinstance(root, MappingNode):
        return None
    for key_node, value in root.value:
        if key_node.value == key and isinstance(value, SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return None
