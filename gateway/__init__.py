"""The hospital gateway: physicians redeem grants and read verified records; auditor API.

Map: ``app.create_app(services=..., settings=...)`` assembles the FastAPI app from
``container.Services``, which holds one implementation of each seam in ``abc``:

- ``ChainViewAPI``: physician standing, grant state, recording a redemption (web3.py);
- ``CaseStoreAPI``: records and DICOM instances of redeemed grants, verified before release;
- ``SessionStoreAPI``: sign-in challenges and sessions (``memory.MemorySessionStore``);
- ``AuditSourceAPI``: a case's timeline rebuilt from chain events.

Routers (``routers/``) stay thin; the logic is in ``services/`` as keyword-only functions.
"""
