"""Collections sharing one runtime (an estate scan's): one loop, one HTTP session whose
connections outlive each collection, one credential whose tokens are kept, and the same
requests and provenance as a collection of its own."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator

import pytest

from mtls_audit.sources.azure.runtime import SharedRuntime
from mtls_audit.sources.azure.source import AzureOptions, collect_azure, shared_runtime

from .fake_azure import TOKEN_PATH, FakeAzure
from .instance import Instance


@pytest.fixture
def runtime(
    options: Callable[..., AzureOptions], workload_identity: None
) -> Iterator[SharedRuntime]:
    shared = shared_runtime(options(auth="workload-identity"))
    yield shared
    shared.close()


def _requests(parts: dict[str, object]) -> list[tuple[str, str, object]]:
    """The requests made, but Key Vault's authentication challenge (an unauthenticated request
    answered 401), which is sent once or, when two certificates are asked for at once, twice."""
    provenance = parts["provenance"]
    assert isinstance(provenance, dict)
    return sorted(
        (r["method"], r["url"], r["status"])
        for r in provenance["requests"]
        if not (r["status"] == 401 and r["url"].startswith("/certificates/"))
    )


def test_collections_on_a_shared_runtime_reuse_connections_and_tokens(
    fake: FakeAzure,
    instance: Instance,
    options: Callable[..., AzureOptions],
    runtime: SharedRuntime,
) -> None:
    alone = collect_azure(options(auth="workload-identity"))
    chosen = options(auth="workload-identity", runtime=runtime)

    first = collect_azure(chosen, credential=runtime.credential)
    tokens, connections = len(fake.seen(TOKEN_PATH.pattern)), fake.connections
    second = collect_azure(chosen, credential=runtime.credential)

    # The same reads, answers and resources as a collection with its own session.
    assert _requests(first) == _requests(second) == _requests(alone)
    assert first["resources"] == second["resources"] == alone["resources"]
    assert first["gaps"] == second["gaps"] == alone["gaps"]
    # The second collection opened no connection (no TLS handshake) and asked for no token.
    assert fake.connections == connections
    assert len(fake.seen(TOKEN_PATH.pattern)) == tokens
    assert first["provenance"]["auth"] == {
        "mode": "workload-identity",
        "credential": "WorkloadIdentityCredential",
    }


def test_a_runtime_dropped_on_its_own_loop_or_in_a_forked_copy_does_not_wait_on_itself(
    runtime: SharedRuntime,
) -> None:
    # A copy made by fork (a worker process) has no loop thread: closing it returns at once.
    child = multiprocessing.get_context("fork").Process(target=runtime.close)
    child.start()
    child.join(20)
    assert child.exitcode == 0

    async def on_the_loop() -> None:
        runtime.close()  # as when the last reference goes on the loop's thread

    runtime.run(on_the_loop())
    runtime._thread.join(20)
    assert not runtime._thread.is_alive()
    assert runtime.http.session.closed
