from cadenza.cli.main import main

main()
