"""`aiapp init`: write the cluster profile (the `cluster:` section of a GitOps repository's `.aiapp.yml`).

Owns: `profile_file.py` (the flow: defaults, --set, prompts, confirmation, writing) and `detect.py`
(proposals read from the repository's manifests).

May import: the foundations (`generator.template`, `generator.cluster`, `generator.errors`), never another
capability.
"""
