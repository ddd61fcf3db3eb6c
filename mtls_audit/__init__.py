"""mtls-audit: compliance audit and evidence for mutual TLS on Azure API Management."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mtls-audit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
