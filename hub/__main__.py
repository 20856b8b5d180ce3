"""``python -m hub`` is the ``todohub`` command."""

from hub.cli import main

main()
