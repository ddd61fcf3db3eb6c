"""Tokenizer for the C# subset of APIM policy expressions.

Offsets are character offsets into the text handed to :func:`tokenize`, so a caller that knows
where the expression starts in a policy document can turn any offset into a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from mtls_audit.errors import InputError


class ExpressionSyntaxError(InputError):
    """A policy expression that the analyser cannot read; ``offset`` points into its text."""

    def __init__(self, message: str, offset: int, *, source: str | None = None):
        self.offset = offset
        super().__init__(message, source=source, where=f"offset {offset}")


class TokenKind(Enum):
    NAME = "name"
    STRING = "string"
    INTERPOLATED = "interpolated string"
    CHAR = "char"
    NUMBER = "number"
    PLACEHOLDER = "placeholder"
    PUNCT = "punctuation"
    END = "end of expression"


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    start: int
    end: int
    value: str | int | float | None = None


_ESCAPES = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_HEX_ESCAPE = re.compile(r"u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{1,4}")
_SPACE_OR_COMMENT = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)+", re.S)
_NAME = re.compile(r"@?[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(
    r"0[xX][0-9A-Fa-f_]+[uUlL]*|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?[fFdDmMuUlL]*"
)
# {{named-value}} as a bare token, and IaC template markers such as ${var}, #{token}# or a
# Terraform directive %{ for … } (which, inside a collection initializer, stands for entries).
_PLACEHOLDER = re.compile(r"\{\{[A-Za-z0-9_.\-]+\}\}|\$\{[^{}\n]*\}|#\{[^{}\n]*\}#|%\{[^{}\n]*\}")
_PUNCT = (
    "??=",
    "<<=",
    "=>",
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "??",
    "?.",
    "++",
    "--",
    "+=",
    "-=",
    "*=",
    "/=",
    "%=",
    "&=",
    "|=",
    "^=",
    "::",
    "<<",
    *"()[]{}.,;:?!~+-*/%<>=&|^",
)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with one END token."""
    tokens: list[Token] = []
    pos = 0
    while True:
        gap = _SPACE_OR_COMMENT.match(text, pos)
        if gap:
            pos = gap.end()
        if pos >= len(text):
            tokens.append(Token(TokenKind.END, "", pos, pos))
            return tokens
        if text.startswith("/*", pos):
            raise ExpressionSyntaxError("unterminated comment", pos)
        token = _next_token(text, pos)
        tokens.append(token)
        pos = token.end


def _next_token(text: str, pos: int) -> Token:
    char = text[pos]
    two = text[pos : pos + 2]
    if char == '"' or two == '@"':
        verbatim = char == "@"
        end, value = _scan_string(text, pos + (2 if verbatim else 1), verbatim)
        return Token(TokenKind.STRING, text[pos:end], pos, end, value)
    if two in ('$"', "$@") or text.startswith('@$"', pos):
        end = _scan_interpolated(text, pos)
        return Token(TokenKind.INTERPOLATED, text[pos:end], pos, end, text[pos:end])
    if char == "'":
        end, value = _scan_string(text, pos + 1, False, quote="'")
        if len(value) != 1:
            raise ExpressionSyntaxError("a character literal holds exactly one character", pos)
        return Token(TokenKind.CHAR, text[pos:end], pos, end, value)
    for kind, pattern in ((TokenKind.PLACEHOLDER, _PLACEHOLDER), (TokenKind.NAME, _NAME)):
        match = pattern.match(text, pos)
        if match:
            return Token(kind, match.group(), pos, match.end(), match.group().lstrip("@"))
    if char.isdigit() or (char == "." and text[pos + 1 : pos + 2].isdigit()):
        match = _NUMBER.match(text, pos)
        if match:
            return Token(TokenKind.NUMBER, match.group(), pos, match.end(), _number(match.group()))
    for punct in _PUNCT:
        if text.startswith(punct, pos):
            if punct == "?." and text[pos + 2 : pos + 3].isdigit():
                continue  # `a ?.5 : b` is a conditional, not a null-conditional access
            return Token(TokenKind.PUNCT, punct, pos, pos + len(punct))
    raise ExpressionSyntaxError(f"unexpected character {char!r}", pos)


def _scan_string(text: str, pos: int, verbatim: bool, quote: str = '"') -> tuple[int, str]:
    """Return the offset after the closing quote and the decoded value."""
    out: list[str] = []
    start = pos - 1
    while pos < len(text):
        char = text[pos]
        if char == quote:
            if verbatim and text[pos + 1 : pos + 2] == quote:
                out.append(quote)
                pos += 2
                continue
            return pos + 1, "".join(out)
        if char == "\n" and not verbatim:
            break
        if char == "\\" and not verbatim:
            pos = _decode_escape(text, pos + 1, out)
            continue
        out.append(char)
        pos += 1
    raise ExpressionSyntaxError("unterminated literal", start)


def _decode_escape(text: str, pos: int, out: list[str]) -> int:
    char = text[pos : pos + 1]
    if char in _ESCAPES:
        out.append(_ESCAPES[char])
        return pos + 1
    match = _HEX_ESCAPE.match(text, pos)
    if not match:
        raise ExpressionSyntaxError("unknown escape sequence", pos - 1)
    out.append(chr(int(match.group()[1:], 16)))
    return match.end()


def _scan_interpolated(text: str, pos: int) -> int:
    """Skip an interpolated string, including string literals nested in its holes."""
    prefix = text[pos : pos + 3]
    verbatim = "@" in prefix[:2]
    start = pos
    pos += 3 if verbatim else 2
    depth = 0
    while pos < len(text):
        char = text[pos]
        if depth == 0:
            if char == '"':
                if verbatim and text[pos + 1 : pos + 2] == '"':
                    pos += 2
                    continue
                return pos + 1
            if char in "{}" and text[pos + 1 : pos + 2] == char:
                pos += 2
                continue
            if char == "\\" and not verbatim:
                pos += 2
                continue
        elif char in "\"'":
            pos, _ = _scan_string(text, pos + 1, False, quote=char)
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        pos += 1
    raise ExpressionSyntaxError("unterminated interpolated string", start)


def interpolation_holes(text: str) -> list[tuple[int, int, int]]:
    """The holes of an interpolated string (``$"a {x} b {y,5:N2}"``): the offsets where each
    expression starts and ends (without alignment and format), and the offset after its
    closing brace."""
    verbatim = "@" in text[:2]
    pos = 3 if verbatim else 2
    holes: list[tuple[int, int, int]] = []
    while pos < len(text) - 1:
        char = text[pos]
        if (char in "{}" and text[pos + 1 : pos + 2] == char) or (char == "\\" and not verbatim):
            pos += 2
        elif char == "{":
            pos = _hole(text, pos + 1, holes)
        else:
            pos += 1
    return holes


def _hole(text: str, start: int, holes: list[tuple[int, int, int]]) -> int:
    """Record the hole starting at ``start``; return the offset after its closing brace."""
    depth, pos, end = 0, start, None
    while pos < len(text):
        char = text[pos]
        if char in "\"'":
            pos, _ = _scan_string(text, pos + 1, False, quote=char)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]" or (char == "}" and depth):
            depth -= 1
        elif depth == 0 and char in ",:}" and end is None:
            end = pos
            if char == "}":
                break
        elif depth == 0 and char == "}":
            break
        pos += 1
    holes.append((start, pos if end is None else end, pos + 1))
    return pos + 1


def _number(text: str) -> int | float:
    clean = text.replace("_", "")
    if clean[:2].lower() == "0x":
        return int(clean.rstrip("uUlL"), 16)
    clean = clean.rstrip("fFdDmMuUlL")
    try:
        return int(clean)
    except ValueError:
        return float(clean)
