"""A real two-hospital consortium on loopback, with a redeemed grant, for HTTP fuzzing.

The processes are the shipped ones, started from the process table as the demo starts them
(:class:`~medledger.consortium.local.LocalConsortium`): one BFT validator (the village
clinic's), both hospitals' ``medledger node run`` and the county hospital's
``medledger gateway run``. The story is the demo's own, told over HTTP (``demo_flow``): the
village ingests FHIR records and a CT study, refers the case up and grants it; a county
physician signs in and redeems the token on chain; the members vote an auditor in, who
signs in at the county gateway. Fuzzed requests then carry those sessions and reach the
records, DICOMweb and audit code over real data, not only the 401 path.

Two hospitals and one validator, not the demo's four: the fuzzers need one gateway and one
node with real data, and every extra process costs seconds of the short run's budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account

from medledger import demo_flow as flow
from medledger.consortium.hospital import GATEWAY_ENV
from medledger.consortium.layout import Network, plan_hospitals
from medledger.consortium.local import LocalConsortium
from medledger.consortium.writer import init_consortium
from medledger.demo_setup import (
    DEMO_KDF,
    PASSPHRASE,
    DemoConsortium,
    deploy_suite_of,
    elect_auditor,
    free_base_port,
    operator_accounts,
    register_staff,
)
from medledger.processes import process

GRANTEE = "county"


@dataclass(frozen=True)
class RealHospital:
    """Where the county's processes listen, the sessions, and the ids of the real data."""

    demo: DemoConsortium
    gateway_url: str
    node_url: str
    node_token: str
    #: The village node (the grantor, which holds every record, case and issued grant).
    village_url: str
    village_token: str
    physician_session: str
    auditor_session: str
    case_id: str
    grant_id: int
    #: Record ids as the gateway names them, FHIR and DICOM.
    records: tuple[str, ...]
    study: str
    series: str
    instance: str

    def sign_in(self, prefix: str = "") -> str:
        """A new session of the physician (``prefix=""``) or the auditor (``"/audit"``)."""
        story = flow.Story(self.demo)
        account = self.demo.auditor if prefix else self.demo.physicians[GRANTEE]
        resp = flow._signed_session(story, GRANTEE, prefix, account)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["token"])


@contextmanager
def real_hospital(root: Path) -> Iterator[RealHospital]:
    """The consortium under ``root``, its story told; every process stopped on exit."""
    plans = plan_hospitals(
        2, tiers=("village", GRANTEE), base_port=free_base_port(span=20), validators=1
    )
    manifest = init_consortium(root, plans, passphrase=PASSPHRASE, network=Network.loopback,
                               fast_consensus=True, kdf=DEMO_KDF)  # fmt: skip
    # The fuzzer is one client that signs in for every logout it sends; the sign-in rate
    # limit has tests of its own (tests/gateway/test_hostile_http.py).
    county_dir = next(h.directory for h in manifest.hospitals if h.tier == GRANTEE)
    gateway_env = root / county_dir / GATEWAY_ENV
    with gateway_env.open("a") as env:
        env.write("MEDLEDGER_GATEWAY_CHALLENGE_RATE_PER_MINUTE=100000\n")
        env.write("MEDLEDGER_GATEWAY_CHALLENGE_BURST=10000\n")
    demo = DemoConsortium(
        root, manifest, operator_accounts(root, manifest), {GRANTEE: Account.create()}
    )
    county = demo.hospital(GRANTEE)
    with LocalConsortium(root, passphrase=PASSPHRASE) as local:
        local.start(process("ledger"))
        deploy_suite_of(demo)
        local.launch(process("node"))
        local.launch(process("gateway"), only=[county.slug])
        register_staff(demo)
        elect_auditor(demo)
        local.wait_healthy()
        story = flow.Story(demo)
        for step in (flow.ingest, flow.refer, flow.accept, flow.grant, flow.sign_in, flow.redeem):
            step(story)
        yield _told(demo, story)


def _told(demo: DemoConsortium, story: flow.Story) -> RealHospital:
    """The ids the story made, read back through the county gateway."""
    county, village = demo.hospital(GRANTEE), demo.hospital("village")
    listed = story.gateway(GRANTEE, "GET", f"/cases/{story.case_id}/records")
    assert listed.status_code == 200, listed.text
    found = story.gateway(GRANTEE, "GET", "/dicomweb/instances")
    assert found.status_code == 200, found.text
    (instance,) = found.json()
    study, series, sop = (str(instance[tag]["Value"][0])
                          for tag in ("0020000D", "0020000E", "00080018"))  # fmt: skip
    auditor = flow._signed_session(story, GRANTEE, "/audit", demo.auditor)
    assert auditor.status_code == 200, auditor.text
    return RealHospital(
        demo=demo,
        gateway_url=county.gateway_url.rstrip("/"),
        node_url=county.node_url.rstrip("/"),
        node_token=demo.node_token(GRANTEE),
        village_url=village.node_url.rstrip("/"),
        village_token=demo.node_token("village"),
        physician_session=story.session,
        auditor_session=str(auditor.json()["token"]),
        case_id=story.case_id,
        grant_id=story.grant_id,
        records=tuple(str(r["record"]) for r in listed.json()),
        study=study,
        series=series,
        instance=sop,
    )
