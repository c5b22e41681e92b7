from ioworkload.cli.entry import main

main()
