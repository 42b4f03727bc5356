// Shared by the workspace pages: the session token (sessionStorage: this tab only, gone when
// it closes), JSON calls to this gateway, and the status line. No key material is kept here:
// the keystore stays encrypted, the passphrase is read at the moment of signing.
"use strict";

const workspace = {
  token() { return sessionStorage.getItem("medledger.session"); },
  keystore() { return sessionStorage.getItem("medledger.keystore"); },

  // The status line: progress and results in black, refusals in red.
  status(text, refused = false) {
    const line = document.getElementById("status");
    if (!line) return;
    line.textContent = text;
    line.className = refused ? "refused" : "";
  },

  // POST a JSON body (with the session as bearer when there is one); the parsed answer, or
  // an Error carrying the gateway's {error, detail}.
  async post(path, body, bearer) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (bearer) headers.Authorization = "Bearer " + bearer;
    const response = await fetch(path, {
      method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const error = new Error(parsed && parsed.detail ? parsed.detail : response.statusText);
      error.code = parsed && parsed.error;
      error.status = response.status;
      throw error;
    }
    return parsed;
  },

  // The keystore v3 file decrypted in the page (ethers: scrypt or pbkdf2, AES-128-CTR, MAC).
  async wallet(passphrase) {
    const json = workspace.keystore();
    if (!json) throw new Error("no key file loaded in this tab: sign in again");
    return ethers.Wallet.fromEncryptedJson(json, passphrase);
  },
};
