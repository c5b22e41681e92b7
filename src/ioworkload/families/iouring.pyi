from ioworkload.core.manifest import Scenario

SCENARIOS: list[Scenario]
CONSTANTS: dict[str, int]
IOR_SCENARIOS: list[Scenario]
