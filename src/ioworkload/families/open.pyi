from ioworkload.core.manifest import Scenario

SCENARIOS: list[Scenario]
IOR_SCENARIOS: list[Scenario]
