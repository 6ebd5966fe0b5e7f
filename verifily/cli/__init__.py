"""The `verifily` command line: one module per command group, `main` the entry point."""
