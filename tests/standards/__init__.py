"""Tests against real third-party implementations of the standards (Orthanc, dcmtk, ...)."""
