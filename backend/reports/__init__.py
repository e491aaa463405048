"""Quality indicators of agencies and procedures, the upgrade rule, and their exports."""
