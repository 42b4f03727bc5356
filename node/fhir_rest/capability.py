"""``GET /fhir/metadata``: the CapabilityStatement of the facade, built from what it supports.

A FHIR client reads it before anything else (``fhirclient`` refuses a server without one), so
it states exactly the interactions the routes implement and no more: create, update and read
of the resource types a hospital sends as records, transaction and batch at the system level.
"""

from __future__ import annotations

from typing import Any

from common.version import __version__

#: Resource types accepted as records (each one becomes its own encrypted, anchored record).
RESOURCE_TYPES = (
    "AllergyIntolerance", "CarePlan", "Condition", "DiagnosticReport", "DocumentReference",
    "Encounter", "Immunization", "Medication", "MedicationAdministration",
    "MedicationRequest", "MedicationStatement", "Observation", "Patient", "Procedure",
    "ServiceRequest", "Specimen",
)  # fmt: skip
FHIR_VERSION = "4.0.1"
TYPE_INTERACTIONS = ("create", "update", "read", "vread")


def capability_statement(base_url: str, *, released: str) -> dict[str, Any]:
    """The CapabilityStatement (``kind: instance``) served at ``base_url/metadata``."""
    resources = [
        {
            "type": rtype,
            "interaction": [{"code": code} for code in TYPE_INTERACTIONS],
            "versioning": "versioned",
            "readHistory": False,
            "updateCreate": True,
            "conditionalCreate": rtype == "Patient",
        }
        for rtype in RESOURCE_TYPES
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": released,
        "kind": "instance",
        "software": {"name": "medledger node", "version": __version__},
        "implementation": {"description": "medledger hospital node FHIR facade", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Every resource written is encrypted and anchored on the "
                "consortium chain; Patient.identifier conditional create via ifNoneExist.",
                "security": {
                    "cors": False,
                    "description": "Bearer token of the hospital operator (Authorization header).",
                },
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }
