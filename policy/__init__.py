"""The Pulumi policy pack of container-audit-log (run by Pulumi from this directory)."""
