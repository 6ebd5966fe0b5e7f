"""`python -m verifily` runs the CLI."""

from verifily.cli.main import main

if __name__ == "__main__":
    main()
