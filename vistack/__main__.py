"""Allow `python -m vistack` as well as the `vistack` console script."""

from vistack.cli import main

main()
