"""The node's FHIR R4 REST facade (``/fhir``): capability, transaction/batch, writes, reads."""
