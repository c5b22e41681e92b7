"""The `ioworkload` command: its entry point, the argument parsing of each subcommand and the
reports they print. Nothing outside cli/ imports it."""
