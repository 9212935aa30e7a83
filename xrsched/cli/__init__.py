"""Command-line interface: the ``xrsched`` click group and its subcommands (thin wrappers)."""
