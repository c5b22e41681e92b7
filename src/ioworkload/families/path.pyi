from ioworkload.manifest import Scenario

SCENARIOS: list[Scenario]

def remember_cwd() -> str | None: ...
