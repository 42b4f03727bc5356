"""Input and stored formats: FHIR, DICOM, the study manifest, the batch manifest, wire reader."""
