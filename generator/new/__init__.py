"""`aiapp new`: one new app, from answers to files on disk.

Owns: the interview (prompts driven by copier.yml), sizing advice, gathering answers from presets, answers
files and --set, destination safety (render into staging, then move), `--register` into the parent
kustomization, and the next steps printed at the end.

May import: the foundations (`generator.template`, `generator.cluster`, `generator.errors`,
`generator.runtime.interrupts`), never another capability (`fleet`, `policy`).
"""
