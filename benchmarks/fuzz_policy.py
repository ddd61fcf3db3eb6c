"""Seeded fuzzing of the policy parser, the C# expression analyser and the policy pipeline.

Inputs are real policies (the XML files of ``../shared/corpora`` when present, the policy files
under ``tests/`` and ``sample_reports/``' sources, and the deep ``<choose>`` shapes of
:mod:`benchmarks.deep_policies`) and the expressions found in them, mutated at random: spans
deleted, duplicated or swapped, tokens of XML and C# inserted, blocks nested or repeated. Every
input is run through:

- ``parser``: :func:`mtls_audit.policy.parsing.parser.parse_policy` (a refusal is
  ``PolicyParseError``);
- ``csharp``: :func:`mtls_audit.policy.expressions.conditions.condition` and ``value`` on one
  expression (a refusal is ``ExpressionSyntaxError``);
- ``pipeline``: :func:`mtls_audit.policy.standalone.judge_text` (parse, effective policy,
  inbound analysis, verdicts) and both renderings of its verdict, JSON and text;
- ``assess``: the offline scan: an exported service whose global policy (and, one time in two,
  its API's policy) is the input, read from a file as ``scan --from-file`` does, judged by every
  built-in rule, and its evidence serialised (a refusal is an ``MtlsAuditError``).

Anything else raised is a crash; an input that takes more than ``--limit`` seconds of CPU time
is slow (CPU rather than wall time, so that other jobs on a shared machine do not count; the
slowest wall time is printed too).
The run prints one line per target and exits 1 if it found either (the inputs are written to
``--out``). Usage::

    python benchmarks/fuzz_policy.py --seed 15 --parser 40000 --csharp 40000 --pipeline 25000 \
        --assess 10000
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.deep_policies import nested, sequential  # noqa: E402
from mtls_audit import workflow  # noqa: E402
from mtls_audit.errors import MtlsAuditError, PolicyParseError  # noqa: E402
from mtls_audit.policy.expressions.conditions import condition, value  # noqa: E402
from mtls_audit.policy.expressions.parser import ExpressionSyntaxError  # noqa: E402
from mtls_audit.policy.parsing.parser import parse_policy  # noqa: E402
from mtls_audit.policy.standalone import judge_text  # noqa: E402
from mtls_audit.sources.files import FilesSource  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora"
_EXPRESSION = re.compile(r'"(@\((?:[^"]|&quot;)*\))"|(@\{.*?\})\s*<', re.DOTALL)
_TOKENS = (
    "<choose>",
    "</choose>",
    '<when condition="@(true)">',
    "</when>",
    "<otherwise>",
    "</otherwise>",
    '<return-response><set-status code="403" /></return-response>',
    '<validate-client-certificate validate-trust="true" />',
    "<base />",
    "<inbound>",
    "</inbound>",
    '<set-variable name="ok" value="@(true)" />',
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "&quot;",
    "&amp;&amp;",
    "&lt;",
    "{{",
    "}}",
    "{{nv}}",
    '"',
    "'",
    "<",
    ">",
    "/>",
    "@(",
    "@{",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ";",
    "?",
    ":",
    "??",
    "?.",
    "!",
    "==",
    "!=",
    "&&",
    "||",
    "=>",
    "context.Request.Certificate",
    ".Thumbprint",
    ".Verify()",
    ".NotAfter",
    "DateTime.Now",
    'context.Request.Headers.GetValueOrDefault("X-Cert", "")',
    'context.Variables["ok"]',
    "(string)",
    "null",
    "true",
    "false",
    "return ",
    "var x = ",
    "if (",
    "else ",
    'new [] {"a", "b"}',
    ".Contains(",
    ".Any(c => c",
    '"3F2A"',
    "0",
    "1e309",
    "\\u0000",
    "\udc80",
    "\u202e",
    "\x1b[31m",
    "é",
    "\t",
    "\n",
)


@dataclass
class Tally:
    runs: int = 0
    refused: int = 0
    crashes: list[tuple[str, str]] = field(default_factory=list)
    slow: list[tuple[float, str]] = field(default_factory=list)
    slowest: float = 0.0  # CPU seconds
    slowest_wall: float = 0.0
    seconds: float = 0.0


def seeds() -> tuple[list[str], list[str]]:
    """Real policy texts, and the expressions written in them."""
    paths = [*ROOT.glob("tests/**/*.xml"), *ROOT.glob("mtls_audit/samples/**/*.xml")]
    if CORPUS.is_dir():
        paths += sorted(CORPUS.rglob("*.xml"))
    texts = [p.read_text("utf-8", errors="replace") for p in sorted(paths)]
    texts += [sequential(12), nested(12)]
    expressions = sorted(
        {
            (m.group(1) or m.group(2)).replace("&quot;", '"').replace("&amp;", "&")
            for text in texts
            for m in _EXPRESSION.finditer(text)
        }
    )
    return texts, expressions or ["@(context.Request.Certificate == null)"]


def mutate(rng: random.Random, text: str, pool: list[str], edits: int = 4) -> str:
    """``text`` after one to ``edits`` random edits."""
    for _ in range(rng.randint(1, edits)):
        n = len(text)
        a, b = sorted((rng.randint(0, n), rng.randint(0, n)))
        b = min(b, a + 200)
        kind = rng.randrange(7)
        if kind == 0:
            text = text[:a] + text[b:]
        elif kind == 1:
            text = text[:b] + text[a:b] + text[b:]
        elif kind == 2:
            text = text[:a] + rng.choice(_TOKENS) + text[a:]
        elif kind == 3:
            other = rng.choice(pool)
            c = rng.randint(0, len(other))
            text = text[:a] + other[c : c + rng.randint(0, 300)] + text[b:]
        elif kind == 4:
            text = text[:a] + text[a:b] * rng.randint(2, 20) + text[b:]
        elif kind == 5 and n:
            text = text[:a] + chr(rng.randrange(0x20, 0x2FF)) + text[a + 1 :]
        else:
            text = text[:a] + text[b:] + text[a:b]
    return text


def combine(rng: random.Random, pool: list[str]) -> str:
    """Two expressions of ``pool`` joined by an operator, then edited once or not at all."""
    plain = [text for text in pool if text.startswith("@(")] or ["@(true)"]
    left, right = (rng.choice(plain)[2:-1] for _ in range(2))
    joined = rng.choice(("{} && {}", "{} || {}", "!({}) ? {} : false", "({}) == ({})"))
    text = "@(" + joined.format(left, right) + ")"
    return mutate(rng, text, pool, 1) if rng.random() < 0.5 else text


def run(
    name: str,
    count: int,
    make: Callable[[], str],
    call: Callable[[str], None],
    refusals: tuple[type[BaseException], ...],
    limit: float,
    out: Path,
) -> Tally:
    tally = Tally()
    begun = time.perf_counter()
    for _ in range(count):
        text = make()
        start, cpu = time.perf_counter(), time.process_time()
        try:
            call(text)
        except refusals:
            tally.refused += 1
        except Exception:  # a crash: keep the input and the traceback
            tally.crashes.append((text, traceback.format_exc()))
        spent = time.process_time() - cpu
        tally.runs += 1
        tally.slowest = max(tally.slowest, spent)
        tally.slowest_wall = max(tally.slowest_wall, time.perf_counter() - start)
        if spent > limit:
            tally.slow.append((spent, text))
    tally.seconds = time.perf_counter() - begun
    if tally.crashes or tally.slow:
        out.mkdir(parents=True, exist_ok=True)
    for number, (text, trace) in enumerate(tally.crashes[:50]):
        (out / f"{name}-crash-{number}.txt").write_text(
            f"{trace}\n----\n{text}", "utf-8", "backslashreplace"
        )
    for number, (spent, text) in enumerate(tally.slow[:50]):
        (out / f"{name}-slow-{number}.txt").write_text(
            f"{spent:.2f} s CPU\n----\n{text}", "utf-8", "backslashreplace"
        )
    return tally


Plan = tuple[str, int, list[str], Callable[[str], None], tuple[type[BaseException], ...]]


def _parser(text: str) -> None:
    parse_policy(text, source="fuzz.xml")


def _pipeline(text: str) -> None:
    verdict = judge_text(text, "fuzz.xml", {"nv": "x"})
    json.dumps(verdict.to_json())
    "\n".join(verdict.lines())


_SERVICE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fuzz/providers/"
    "Microsoft.ApiManagement/service/apim-fuzz"
)


class _Assess:
    """The offline scan of one exported service carrying the input as its policies."""

    def __init__(self, rng: random.Random, folder: Path) -> None:
        self.rng, self.file = rng, folder / "export.json"
        self.options = workflow.AssessOptions()
        self.rules, self.failures, _ = workflow.load_rules(self.options)

    def __call__(self, text: str) -> None:
        api = (
            text if self.rng.random() < 0.5 else "<policies><inbound><base /></inbound></policies>"
        )
        resources = [
            {
                "id": _SERVICE,
                "type": "Microsoft.ApiManagement/service",
                "name": "apim-fuzz",
                "location": "westeurope",
                "sku": {"name": "Developer", "capacity": 1},
                "properties": {
                    "hostnameConfigurations": [
                        {
                            "type": "Proxy",
                            "hostName": "api.example.org",
                            "negotiateClientCertificate": True,
                        }
                    ]
                },
            },
            _policy(f"{_SERVICE}/policies/policy", "apim-fuzz/policy", text),
            {
                "id": f"{_SERVICE}/apis/orders",
                "type": "Microsoft.ApiManagement/service/apis",
                "name": "apim-fuzz/orders",
                "properties": {"displayName": "Orders", "path": "orders", "protocols": ["https"]},
            },
            _policy(f"{_SERVICE}/apis/orders/policies/policy", "apim-fuzz/orders/policy", api),
        ]
        self.file.write_text(json.dumps(resources), "utf-8")
        document = FilesSource([self.file]).load()
        workflow.assess(document, "0" * 64, self.options, rules=self.rules, failures=self.failures)


def _policy(resource_id: str, name: str, text: str) -> dict[str, object]:
    kind = "Microsoft.ApiManagement/service/" + (
        "apis/policies" if "/apis/" in name else "policies"
    )
    return {
        "id": resource_id,
        "type": kind,
        "name": name,
        "properties": {"format": "rawxml", "value": text},
    }


def _csharp(text: str) -> None:
    condition(text)
    value(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--parser", type=int, default=40_000, help="parser iterations")
    parser.add_argument("--csharp", type=int, default=40_000, help="C# analyser iterations")
    parser.add_argument("--pipeline", type=int, default=25_000, help="pipeline iterations")
    parser.add_argument("--assess", type=int, default=10_000, help="offline scan iterations")
    parser.add_argument("--limit", type=float, default=2.0, help="seconds an input may take")
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    texts, expressions = seeds()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    print(f"seed {args.seed}: {len(texts)} policies, {len(expressions)} expressions")
    with tempfile.TemporaryDirectory() as folder:
        plans: tuple[Plan, ...] = (
            ("parser", args.parser, texts, _parser, (PolicyParseError,)),
            ("csharp", args.csharp, expressions, _csharp, (ExpressionSyntaxError,)),
            ("pipeline", args.pipeline, texts, _pipeline, ()),
            ("assess", args.assess, texts, _Assess(rng, Path(folder)), (MtlsAuditError,)),
        )
        failed = False
        for name, count, pool, call, refusals in plans:

            def make(pool: list[str] = pool, name: str = name) -> str:
                if name == "csharp" and rng.random() < 0.5:
                    return combine(rng, pool)
                return mutate(rng, rng.choice(pool), pool, 1 if name == "csharp" else 4)

            tally = run(name, count, make, call, refusals, args.limit, args.out)
            failed |= bool(tally.crashes or tally.slow)
            print(
                f"{name:9} {tally.runs:>7} inputs {tally.refused:>7} refused "
                f"{len(tally.crashes):>4} crashes {len(tally.slow):>4} over {args.limit:g} s "
                f"slowest {tally.slowest:.2f} s CPU ({tally.slowest_wall:.2f} s wall) "
                f"total {tally.seconds:.0f} s",
                flush=True,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
