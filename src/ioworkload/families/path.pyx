# Family 'path': scenarios of ior's ioworkload (../shared/reference/ior-ioworkload-catalog.md).

from ioworkload.manifest import scenarios

SCENARIOS = scenarios("path", [
])
