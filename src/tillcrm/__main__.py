"""`python -m tillcrm`: the same command as `tillcrm`, for a store whose PATH lacks the script
(a service unit, a container, a venv not activated)."""

from tillcrm.cli import main

main(prog_name="tillcrm")
