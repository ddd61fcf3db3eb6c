"""Terraform plans and states (``terraform show -json``) read into flat ARM resources."""
