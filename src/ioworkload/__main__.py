import sys

from ioworkload.cli import main

sys.exit(main())
