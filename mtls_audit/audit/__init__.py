"""Audit operations around an assessment: waivers, baselines and diffs, signed manifests,
scheduled scans and their history.

They sit between the jobs in ``workflow`` and the reports: they adjust or annotate what an
assessment concluded (a waiver turns a fail into waived; a baseline says which results are new),
and the reports only render what they recorded in the evidence.
"""
