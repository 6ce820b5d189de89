"""Every preset of the template, rendered with Copier, passes `aiapp check` with zero findings."""

from __future__ import annotations

import shutil

import pytest

from generator.policy import Options, check_paths
from tests.conftest import PRESETS
from tests.policy.corpus import catalog


def _show(report: object) -> str:
    return "\n".join(f"{f.rule_id} {f.file}:{f.line} {f.object}: {f.message}" for f in report.findings)  # type: ignore[attr-defined]


@pytest.mark.parametrize("preset", PRESETS)
def test_rendered_preset_passes_as_plain_files(preset: str, rendered_preset) -> None:  # type: ignore[no-untyped-def]
    report = check_paths([str(rendered_preset(preset))], Options(build=False, jobs=1))
    assert report.findings == [], _show(report)
    assert report.objects >= 5


@pytest.mark.skipif(not (shutil.which("kubectl") or shutil.which("kustomize")), reason="needs kustomize")
@pytest.mark.parametrize("preset", PRESETS)
def test_built_preset_passes_with_schemas(preset: str, rendered_preset) -> None:  # type: ignore[no-untyped-def]
    location = catalog()
    report = check_paths(
        [str(rendered_preset(preset))],
        Options(schemas=location is not None, schema_location=location, jobs=1),
    )
    assert report.findings == [], _show(report)


def test_the_direct_provider_preset_passes_because_of_its_documented_exception(rendered_preset) -> None:  # type: ignore[no-untyped-def]
    app = rendered_preset("direct-provider-exception")
    agents = app / "AGENTS.md"
    original = agents.read_text()
    try:
        agents.write_text(original.replace("## Exceptions to the patterns", "## Notes"))
        from generator.policy.exceptions import documented_exceptions

        documented_exceptions.cache_clear()
        report = check_paths([str(app)], Options(build=False, jobs=1))
        assert [(f.rule_id, f.file.rsplit("/", 1)[-1]) for f in report.findings] == [
            ("AIA301", "ciliumnetworkpolicy.yaml")
        ]
    finally:
        agents.write_text(original)
        documented_exceptions.cache_clear()
