from ioworkload.manifest import Scenario

CONSTANTS: dict[str, int]
KERNEL_O_LARGEFILE: int
SCENARIOS: list[Scenario]
