"""`ioworkload overhead`: tracer overhead study (see issue 4)."""

from ioworkload.errors import UsageError


def main(argv: list[str]) -> int:
    raise UsageError("the overhead command is not implemented yet")
