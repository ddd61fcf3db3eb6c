"""The rule engine: rule declarations, rule-pack discovery, the runner and its results."""
