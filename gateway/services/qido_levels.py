"""Which attributes belong to which QIDO-RS level, for ``includefield=all``.

PS3.18 §10.6.3.3: ``includefield=all`` adds every attribute *of the level* being searched.
A study-level answer must not carry an instance's SOP Class UID or pixel description, so
the attributes of the Patient and Study modules (PS3.3 C.7.1.1, C.7.2.1, C.7.2.2) and of
the series-level modules (General Series, Frame of Reference, General Equipment) are
listed here; every other attribute of an instance header is instance-level. Answers also
repeat the levels above the one searched (as Orthanc does), never the ones below.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag


class Depth(enum.IntEnum):
    STUDY = 1
    SERIES = 2
    INSTANCE = 3


def _tags(keywords: Iterable[str]) -> frozenset[BaseTag]:
    found = (tag_for_keyword(k) for k in keywords)
    return frozenset(Tag(t) for t in found if t is not None)


STUDY_LEVEL = _tags(
    """SpecificCharacterSet TimezoneOffsetFromUTC
    PatientName PatientID IssuerOfPatientID TypeOfPatientID OtherPatientIDsSequence
    PatientBirthDate PatientBirthTime PatientSex PatientAge PatientSize PatientWeight
    EthnicGroup PatientComments PatientSpeciesDescription PatientBreedDescription
    ResponsiblePerson ResponsibleOrganization PatientIdentityRemoved
    StudyInstanceUID StudyDate StudyTime ReferringPhysicianName StudyID AccessionNumber
    IssuerOfAccessionNumberSequence StudyDescription PhysiciansOfRecord
    NameOfPhysiciansReadingStudy ProcedureCodeSequence ReferencedStudySequence
    AdmittingDiagnosesDescription AdmissionID MedicalAlerts Allergies Occupation
    AdditionalPatientHistory PregnancyStatus""".split()
)
SERIES_LEVEL = _tags(
    """Modality SeriesInstanceUID SeriesNumber Laterality SeriesDate SeriesTime
    PerformingPhysicianName ProtocolName SeriesDescription OperatorsName BodyPartExamined
    PatientPosition SmallestPixelValueInSeries LargestPixelValueInSeries
    PerformedProcedureStepStartDate PerformedProcedureStepStartTime
    PerformedProcedureStepID PerformedProcedureStepDescription RequestAttributesSequence
    AnatomicalOrientationType FrameOfReferenceUID PositionReferenceIndicator
    Manufacturer InstitutionName InstitutionAddress StationName InstitutionalDepartmentName
    ManufacturerModelName DeviceSerialNumber SoftwareVersions SpatialResolution
    DateOfLastCalibration TimeOfLastCalibration""".split()
)


def depth_of(tag: BaseTag) -> Depth:
    """The level an attribute belongs to (instance-level unless listed above)."""
    if tag in STUDY_LEVEL:
        return Depth.STUDY
    if tag in SERIES_LEVEL:
        return Depth.SERIES
    return Depth.INSTANCE


def up_to(dataset: Dataset, depth: Depth) -> list[BaseTag]:
    """The tags of ``dataset`` at ``depth`` or above (study above series above instance)."""
    return [element.tag for element in dataset if depth_of(element.tag) <= depth]
