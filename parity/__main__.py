from parity.shells.cli import main

main()
