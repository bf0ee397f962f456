"""studies: the closed loop (study config, orchestration, MLflow ledger, launchers) and the CLI.

The only package that imports the other three.
"""
