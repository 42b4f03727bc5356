"""Input and stored formats: FHIR, DICOM, the study manifest and the batch manifest."""
