"""`python -m generator`: the same as the `aiapp` console script."""

from generator.cli import main

main()
