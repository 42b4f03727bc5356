"""QIDO-RS search over the instances a session may read (PS3.18 §10.6).

Instances are filtered on their own attributes first, then grouped to the query level;
computed attributes (counts, ``ModalitiesInStudy``) are filled from *all* instances of
each matching group and filtered last. Answers carry the standard default attributes
of the level plus the matching keys and ``includefield``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag

from gateway.domain import InstanceHeader
from gateway.services.dicom_attrs import parse_attribute, pick, to_dicom_json, without_bulk
from gateway.services.qido_levels import Depth, up_to
from gateway.services.qido_match import Filter, make_filter

RESERVED_KEYS = frozenset({"limit", "offset", "includefield", "fuzzymatching"})


def _tags(*keywords: str) -> tuple[BaseTag, ...]:
    return tuple(Tag(k) for k in keywords)


_COMMON = ("SpecificCharacterSet", "TimezoneOffsetFromUTC", "InstanceAvailability", "RetrieveURL")
STUDY_TAGS = _tags(
    *_COMMON,
    *("StudyDate", "StudyTime", "AccessionNumber", "ModalitiesInStudy", "ReferringPhysicianName"),
    *("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID"),
    *("StudyID", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances"),
)
SERIES_TAGS = _tags(
    *_COMMON,
    *("Modality", "SeriesDescription", "SeriesInstanceUID", "SeriesNumber", "StudyInstanceUID"),
    *("NumberOfSeriesRelatedInstances", "PerformedProcedureStepStartDate"),
    "PerformedProcedureStepStartTime",
)
INSTANCE_TAGS = _tags(
    *_COMMON,
    *("SOPClassUID", "SOPInstanceUID", "InstanceNumber", "Rows", "Columns", "BitsAllocated"),
    *("NumberOfFrames", "StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesNumber"),
)
#: What series and instance answers repeat of their study at any path depth (as Orthanc).
STUDY_IDENTITY = _tags(
    *("StudyDate", "StudyTime", "AccessionNumber", "ReferringPhysicianName", "StudyID"),
    *("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID"),
)
COMPUTED_TAGS = frozenset(
    _tags(
        "ModalitiesInStudy",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
        "NumberOfSeriesRelatedInstances",
    )
)


class Level(enum.Enum):
    STUDY = "studies"
    SERIES = "series"
    INSTANCE = "instances"


_DEPTH = {Level.STUDY: Depth.STUDY, Level.SERIES: Depth.SERIES, Level.INSTANCE: Depth.INSTANCE}


@dataclass(frozen=True, slots=True)
class QidoQuery:
    """A parsed QIDO-RS query string."""

    filters: tuple[Filter, ...] = ()
    include: frozenset[BaseTag] = frozenset()
    include_all: bool = False
    limit: int | None = None
    offset: int = 0


def parse_query(
    params: Iterable[tuple[str, str]],
    *,
    includefield: Sequence[str],
    limit: int | None,
    offset: int,
) -> QidoQuery:
    """Matching keys from the raw query items; ``limit``/``offset`` come validated."""
    filters: list[Filter] = []
    include: set[BaseTag] = set()
    for key, value in params:
        if key in RESERVED_KEYS:
            continue
        tag = parse_attribute(key)
        include.add(tag)
        if value != "":  # an empty value is a return key, not a filter (universal match)
            filters.append(make_filter(tag, value))
    fields = [f.strip() for item in includefield for f in item.split(",") if f.strip()]
    include.update(parse_attribute(f) for f in fields if f != "all")
    return QidoQuery(tuple(filters), frozenset(include), "all" in fields, limit, offset)


def _key(header: InstanceHeader, level: Level) -> tuple[str, ...]:
    if level is Level.STUDY:
        return (header.study_uid,)
    if level is Level.SERIES:
        return (header.study_uid, header.series_uid)
    return (header.study_uid, header.series_uid, header.sop_uid)


def _retrieve_url(base_url: str, key: tuple[str, ...]) -> str:
    parts = ("studies", "series", "instances")
    return base_url.rstrip("/") + "".join(f"/{p}/{uid}" for p, uid in zip(parts, key, strict=False))


def _study_computed(ds: Dataset, study: Sequence[InstanceHeader]) -> None:
    modalities = sorted({str(h.dataset.Modality) for h in study if "Modality" in h.dataset})
    if modalities:
        ds.ModalitiesInStudy = modalities
    ds.NumberOfStudyRelatedSeries = len({h.series_uid for h in study})
    ds.NumberOfStudyRelatedInstances = len(study)


def _result(
    level: Level,
    key: tuple[str, ...],
    group: Sequence[InstanceHeader],
    study: Sequence[InstanceHeader],
    *,
    query: QidoQuery,
    depth: int,
    base_url: str,
) -> Dataset:
    tags: list[BaseTag] = list(query.include)
    tags += {Level.STUDY: STUDY_TAGS, Level.SERIES: SERIES_TAGS, Level.INSTANCE: INSTANCE_TAGS}[
        level
    ]
    if level is not Level.STUDY:  # say which study (and, at depth 0, its counts below)
        tags += STUDY_TAGS if depth == 0 else STUDY_IDENTITY
    if level is Level.INSTANCE and depth < 2:  # and which series
        tags += SERIES_TAGS
    first = group[0].dataset
    if query.include_all:  # every attribute of this level and the ones above, none below
        tags += up_to(without_bulk(first), _DEPTH[level])
    ds = Dataset()
    pick(first, tags, ds)
    ds.InstanceAvailability = "ONLINE"
    ds.RetrieveURL = _retrieve_url(base_url, key)
    if level is Level.STUDY or depth == 0:
        _study_computed(ds, study)
    if level is Level.SERIES:
        ds.NumberOfSeriesRelatedInstances = len(group)
    return ds


def search(
    *,
    instances: Sequence[InstanceHeader],
    level: Level,
    query: QidoQuery,
    depth: int,
    base_url: str,
) -> list[dict[str, Any]]:
    """DICOM JSON results of ``query`` at ``level``.

    Parameters
    ----------
    instances
        Every instance the session may read under the path's UIDs, in store order.
    depth
        How many UIDs the path names (0 none, 1 study, 2 study and series): results
        repeat the attributes of the levels the path does not name.
    base_url
        The ``/dicomweb`` root as the client reached it, for ``RetrieveURL``.
    """
    own = [f for f in query.filters if f.tag not in COMPUTED_TAGS]
    computed = [f for f in query.filters if f.tag in COMPUTED_TAGS]
    groups: dict[tuple[str, ...], list[InstanceHeader]] = {}
    studies: dict[str, list[InstanceHeader]] = {}
    for header in instances:
        groups.setdefault(_key(header, level), []).append(header)
        studies.setdefault(header.study_uid, []).append(header)
    matched = dict.fromkeys(
        _key(h, level) for h in instances if all(f.matches(h.dataset) for f in own)
    )
    results = []
    for key in matched:
        group = groups[key]
        ds = _result(
            level,
            key,
            group,
            studies[key[0]],
            query=query,
            depth=depth,
            base_url=base_url,
        )
        if all(f.matches(ds) for f in computed):
            results.append(ds)
    end = None if query.limit is None else query.offset + query.limit
    return [to_dicom_json(ds) for ds in results[query.offset : end]]
