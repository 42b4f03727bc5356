"""HL7 v2 over MLLP on the node: ADT, ORU^R01 and RDE^O11 mapped to FHIR and ingested."""
