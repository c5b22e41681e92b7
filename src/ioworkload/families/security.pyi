from ioworkload.core.manifest import Scenario

CONSTANTS: dict[str, int]
SCENARIOS: list[Scenario]
IOR_SCENARIOS: list[Scenario]
