"""Standard DICOM ways in: a DIMSE listener (C-ECHO, C-STORE SCP) and the STOW-RS core.

A PACS or modality pushes instances; each is spooled to disk (never a whole study in
memory), parsed with pydicom, and refused with a failure status if it is malformed. When the
association is released (or a STOW-RS request is read), the spooled instances are grouped by
StudyInstanceUID and ingested through the node's ingest core (:func:`node.ingest.study`):
encrypted, stored, anchored as one study record. Ingest is idempotent by SOP Instance UID
(:mod:`node.dimse.index`); a study that gains instances gets a new version of its record
holding the union (:mod:`node.dimse.ingest`).
"""
