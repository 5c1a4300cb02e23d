"""Feature flags, read from config/flags.yaml at start-up."""
import yaml

with open("config/flags.yaml") as f:
    _FLAGS = yaml.safe_load(f) or {}


def enabled(name):
    return bool(_FLAGS.get(name, False))
