"""`aiapp check`: the house rules of ai-apps-AGENTS.md as a policy and schema gate for any manifests.

Entry point: `check_paths(paths, Options(...))` returns a Report; `registry.rules()` lists the rules.
"""

from generator.policy.engine import Options, Report, check_paths

__all__ = ["Options", "Report", "check_paths"]
