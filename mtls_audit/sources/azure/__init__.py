"""Live collection from Azure: credentials, the ARM and Key Vault reads, discovery of an estate."""
