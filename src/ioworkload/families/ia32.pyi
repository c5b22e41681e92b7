from ioworkload.core.manifest import Scenario

SCENARIOS: list[Scenario]
