"""`aiapp status` and `aiapp update`: keeping every generated app of a GitOps repository current.

Owns: discovering apps (their `.copier-answers.yml`), the git plumbing (template clones, tags, commits),
the in-process `copier update` loop and the Copier speed-ups it installs for the duration of a run.

May import: the foundations (`generator.template`, `generator.cluster`, `generator.errors`,
`generator.runtime.interrupts`), never another capability (`new`, `policy`).
"""
