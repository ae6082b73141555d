"""Sub-commands of the `uspd` CLI, one module each (see `uspd.cli`)."""
