"""How one command runs as a process: Ctrl-C that never cuts a write or a clean-up in half, and a private
temporary directory that one removal clears. A shared foundation.

May import: nothing from `generator`. The CLI and the capabilities (`new`, `fleet`) use it.
"""
