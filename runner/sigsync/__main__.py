from sigsync.cli import main

main()
