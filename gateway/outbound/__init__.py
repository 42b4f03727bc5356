"""Outbound pushes to the receiving hospital's own systems.

A granted, verified study goes to its PACS (DICOM C-STORE), a granted record bundle to its
HIS (FHIR transaction); each push is accounted like a read.
"""
