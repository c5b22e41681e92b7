from ioworkload.core.manifest import Scenario

SCENARIOS: list[Scenario]

def user_xattrs_in_tmpdir() -> str | None: ...
