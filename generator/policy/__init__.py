"""`aiapp check`: the house rules of ai-apps-AGENTS.md as a policy and schema gate for any manifests.

Owns: loading manifests (files and kustomize builds), the rule registry (`rules/` by domain), suppressions,
the reports (`report/` by format) and docs/rules.md, generated from the registry.

Entry point: `check_paths(paths, Options(...))` returns a Report; `registry.rules()` lists the rules.

May import: the foundations (`generator.template`, `generator.cluster`, `generator.errors`), never another
capability (`new`, `fleet`).
"""

from generator.policy.engine import Options, Report, check_paths

__all__ = ["Options", "Report", "check_paths"]
