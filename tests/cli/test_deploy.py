"""The container image definition and the Kubernetes indexed Job stay in step with the tool:
the image installs the system libraries CI installs for the PDF, and every worker of the Job
scans a distinct shard of the same number."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEST_ONLY = {"poppler-utils"}  # pdftoppm and pdfdetach: the PDF tests read the PDF back


def _ci_packages() -> set[str]:
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    listed = re.search(r"PACKAGES=\(([^)]*)\)", text)
    assert listed is not None
    return set(listed[1].split())


def test_the_image_installs_the_libraries_the_pdf_needs() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    install = re.search(r"apt-get install -y --no-install-recommends \\\n\s+([^\\]+)\\", dockerfile)
    assert install is not None
    pdf_packages = {p for p in _ci_packages() - TEST_ONLY if p not in ("postgresql", "chromium")}
    assert set(install[1].split()) == pdf_packages


def test_each_worker_of_the_indexed_job_scans_its_own_shard() -> None:
    job = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "indexed-job.yaml").read_text("utf-8"))
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["parallelism"] == spec["completions"]
    pod = spec["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    (container,) = pod["spec"]["containers"]
    command = " ".join(container["args"])
    shard = re.search(r'--shard "\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)/(\d+)"', command)
    assert shard is not None
    assert int(shard[1]) == spec["completions"]
    assert "--auth workload-identity" in command
