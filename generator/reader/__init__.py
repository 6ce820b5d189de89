"""Every file aiapp reads from a user, read one way: bounded in size, regular files only, YAML without
alias bombs, absurd nesting, duplicate keys or values that YAML 1.1 and 1.2 read differently. A shared
foundation.

Owns: `files.py` (bytes of a regular file, size-capped, never blocking on a FIFO), `yamldoc.py` (libyaml
composition, alias expansion counted, duplicate keys refused; the strict reader of small settings files:
answers, profiles, `.aiapp.yml`), `jsondoc.py` (baselines).

May import: `generator.errors` only. Every other package may import it.
"""
