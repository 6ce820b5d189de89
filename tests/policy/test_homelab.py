"""`aiapp check` on a repository it did not write: exactly the findings its engineers agree with.

tests/policy/homelab/expected-findings.txt lists each finding with the reason it is right; any finding
missing or extra fails. Cilium facts the expectations rely on: a CiliumNetworkPolicy selects pods of its
own namespace, a cluster-wide one pods of every namespace, and the allowed traffic of a pod is the union
of every policy selecting it (docs.cilium.io, Network Policy > CiliumClusterwideNetworkPolicy); toFQDNs
rules only see names resolved through the DNS proxy, which a port-53 rule with `rules: dns:` enables
(cilium/cilium#32567); the kubelet's probes come from the `host` entity (cilium/cilium#48444).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from generator.policy import Report, kustomize
from generator.policy.model import Severity
from tests.policy.homelab import HOMELAB, check_homelab

EXPECTED = HOMELAB / "expected-findings.txt"
_LINE = re.compile(r"^(?P<rule>AIA\d{3}) (?P<file>\S+):(?P<line>\d+) (?P<object>\S+) -- (?P<why>.+)$")


@pytest.fixture(scope="module")
def report() -> Report:
    """One check of the corpus. The expectations assume no helm (LiteLLM's chart is not rendered)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kustomize, "helm", lambda: None)
        return check_homelab()


def expected() -> set[tuple[str, str, int, str]]:
    found = set()
    for text in EXPECTED.read_text(encoding="utf-8").splitlines():
        if not text.strip() or text.startswith("#"):
            continue
        match = _LINE.match(text)
        assert match, f"malformed line in {EXPECTED.name}: {text}"
        assert len(match["why"].split()) >= 5, f"say why the finding is right: {text}"
        obj = "" if match["object"] == "-" else match["object"]
        found.add((match["rule"], match["file"], int(match["line"]), obj))
    return found


def test_exactly_the_findings_an_engineer_of_the_cluster_agrees_with(report: Report) -> None:
    actual = {
        (item.rule_id, Path(os.path.relpath(item.file, HOMELAB)).as_posix(), item.line, item.object)
        for item in report.findings
    }
    assert actual == expected(), "\n".join(
        f"{f.rule_id} {os.path.relpath(f.file, HOMELAB)}:{f.line} {f.object or '-'} {f.message}"
        for f in report.findings
    )
    assert report.notes == []


def test_the_typo_is_found_and_named(report: Report) -> None:
    typo = next(item for item in report.findings if item.rule_id == "AIA607")
    assert "app.kubernetes.io/name=rag-api" in typo.message and "app=rag-api" in typo.message


def test_a_broken_app_is_one_finding_with_its_whole_error_and_the_rest_is_checked(report: Report) -> None:
    (broken,) = [item for item in report.findings if item.rule_id == "AIA005"]
    assert "PatchTransformer" in broken.message and "resources-patch.yaml" in broken.message
    assert len(broken.message.splitlines()) > 1, "the multi-line error is kept"
    # The broken app's own file was read as written, and every other app of apps/ was built.
    assert any(item.rule_id == "AIA301" and "notes" in item.file for item in report.findings)
    assert report.objects >= 20


def test_notes_never_fail_the_check(report: Report) -> None:
    notes = [item for item in report.findings if item.severity is Severity.INFO]
    assert {item.rule_id for item in notes} == {"AIA012", "AIA605", "AIA606"}
    assert report.failed(strict=True)
    assert not Report(findings=notes).failed(strict=True)
