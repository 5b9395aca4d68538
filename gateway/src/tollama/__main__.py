from tollama.cli import main

main()
