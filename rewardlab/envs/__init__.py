"""The four environment families; each subpackage exports ENVS, its rows of the registry."""
