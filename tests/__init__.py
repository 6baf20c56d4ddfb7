"""rnnkeras' tests: a package, so shared helpers import by path (`from tests.layers import harness`)."""
