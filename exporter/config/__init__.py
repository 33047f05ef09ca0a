"""The config file: YAML with positions, typed sections, secrets and what every target has."""
