"""The physician's workspace: sign-in, inbox, case pages and study viewer, in the browser.

Server-rendered pages with a little vendored JavaScript (``static/``): the physician's key
stays in their browser (an encrypted keystore v3 file they load; decrypted by ethers.js in
the page, never sent), and signs the gateway's sign-in challenge and each Redemption there.
See ``docs/workspace.md``.
"""
