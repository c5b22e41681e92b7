from ioworkload.core.manifest import Scenario

SUN_PATH_BYTES: int
SCENARIOS: list[Scenario]
