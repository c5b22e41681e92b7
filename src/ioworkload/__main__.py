from ioworkload.entry import main

main()
