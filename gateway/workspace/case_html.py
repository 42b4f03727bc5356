"""The case page (records in words, provenance badges, studies) and the study viewer page."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from gateway.workspace.case import CaseRecord, CaseStudy, CaseView
from gateway.workspace.html import nav, page

#: Left border colour per record family, so the timeline reads at a glance.
COLOURS = {"Observation": "#1f5fbf", "Condition": "#b35900", "Prescription": "#7140c9",
           "Report": "#1a7f37"}  # fmt: skip
OTHER = "#57606a"


def _badge(record: CaseRecord) -> str:
    if record.refused is not None:
        return f'<span class="badge unverified">refused: {escape(record.refused)}</span>'
    where = ("anchored on chain" if record.anchor_block is None
             else f"anchored in block {record.anchor_block}")  # fmt: skip
    return f'<span class="badge verified">{where}, verified</span>'


def _record(record: CaseRecord) -> str:
    text = record.text
    kind = "Refused" if text is None else text.kind
    colour = COLOURS.get(kind, OTHER)
    title = "Not shown: the content does not match its anchor" if text is None else text.title
    lines = "" if text is None else "".join(f"<div>{escape(line)}</div>" for line in text.lines)
    when = "" if text is None or not text.when else f" · {escape(text.when)}"
    return (
        f'<li class="record panel" data-kind="{escape(kind)}" data-record="{record.record}" '
        f'style="border-left: 6px solid {colour}">'
        f'<div><b class="kind" style="color:{colour}">{escape(kind)}</b>{when} {_badge(record)}'
        f'</div><div class="title"><b>{escape(title)}</b></div>{lines}'
        f'<div class="mono">record {record.record[:18]}…</div></li>'
    )


def _study(case: str, study: CaseStudy) -> str:
    href = f"/workspace/cases/{case}/viewer?study={quote(study.study)}"
    return (
        f'<li class="study panel" data-study="{escape(study.study)}">'
        f"<b>{escape(study.modalities or 'DICOM')} study</b> · {study.series} series · "
        f'{study.instances} instances <div class="mono">{escape(study.study)}</div>'
        f'<a class="open-study" href="{escape(href)}">Open in the viewer</a></li>'
    )


def case_page(view: CaseView) -> str:
    """The case's records, in the order the grant lists them, and its studies."""
    if not view.records and not view.studies:
        body = ('<p id="empty">Nothing to show: open this case from your inbox first (a '
                "redeemed, live grant of it in this session).</p>")  # fmt: skip
    else:
        records = "\n".join(_record(r) for r in view.records)
        studies = "\n".join(_study(view.case, s) for s in view.studies)
        body = (f'<h2>Records</h2><ol id="records" style="list-style:none;padding:0">{records}'
                f'</ol><h2>Imaging</h2><ul id="studies" style="list-style:none;padding:0">'
                f"{studies}</ul>")  # fmt: skip
    return page("Case", f'{nav()}<div class="mono" id="case">{view.case}</div>{body}')


def viewer_page(*, case: str, study: str) -> str:
    """The study viewer: the page's script reads it over this gateway's DICOMweb."""
    return page("Study viewer", (
        f'{nav()}<p><a href="/workspace/cases/{case}">Back to the case</a></p>'
        f'<div class="panel" id="viewer" data-study="{escape(study)}">'
        '<p id="status" role="status">Loading the study…</p>'
        '<p id="summary"></p><canvas id="image" width="512" height="512" '
        'style="background:#000000"></canvas></div>'
    ), scripts=("dicomweb-client.js", "common.js", "viewer.js"))  # fmt: skip
