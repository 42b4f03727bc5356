"""The demo's sample data, shipped or generated here: nothing is downloaded.

The FHIR resources are synthetic (one made-up patient); the DICOM study is pydicom's
bundled CT test instance.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

PATIENT = {"system": "urn:demo:village-clinic:mrn", "value": "DEMO-0001"}
CT_FILE = "CT_small.dcm"


class MissingSample(Exception):
    """A sample file the demo relies on is not installed."""


def sample_fhir() -> list[bytes]:
    """Two observations and a prescription of one synthetic patient."""
    subject = {"reference": "Patient/demo", "identifier": PATIENT}
    obs = [
        {"resourceType": "Observation", "status": "final", "subject": subject,
         "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
         "valueQuantity": {"value": value, "unit": unit}}
        for code, value, unit in (("718-7", 9.1, "g/dL"), ("8480-6", 162, "mm[Hg]"))
    ]  # fmt: skip
    rx = {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
          "subject": subject,
          "medicationCodeableConcept": {"text": "amlodipine 5 mg tablet"},
          "dosageInstruction": [{"text": "one tablet daily"}]}  # fmt: skip
    return [json.dumps(r).encode() for r in [*obs, rx]]


def ct_path() -> Path:
    """Pydicom's bundled CT test instance."""
    from pydicom.data import get_testdata_file

    path = get_testdata_file(CT_FILE)
    if path is None:
        raise MissingSample(f"pydicom's test file {CT_FILE} is not installed")
    return Path(str(path))


def sample_study_zip() -> bytes:
    """The CT instance zipped as a one-instance study."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.write(ct_path(), CT_FILE)
    return buf.getvalue()
