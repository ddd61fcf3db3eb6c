"""Producers of snapshots: offline files (ARM, Terraform, APIOps), live Azure, the sample."""
