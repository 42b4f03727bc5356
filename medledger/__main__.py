from medledger.cli import main

main()
