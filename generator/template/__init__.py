"""The Copier template itself, as the rest of aiapp reads it: a shared foundation.

Owns: reading `copier.yml` (questions, computed values, validators evaluated as Copier does), answers
parsing and checking, presets, where the template comes from and which version is rendered, the one call
to Copier that renders files, the Jinja expression cache, and the JSON schemas the rendered objects are
validated against.

May import: `generator.errors` and `generator.reader` only. Every capability (`new`, `fleet`, `policy`)
may import it.
"""
