// Sign-in: decrypt the physician's keystore in the page, sign the gateway's challenge
// (EIP-191 personal_sign), get a session, carry it into the pages' cookie, go to the inbox.
"use strict";

async function signIn() {
  const file = document.getElementById("keystore").files[0];
  const passphrase = document.getElementById("passphrase").value;
  if (!file) throw new Error("choose your key file first");
  const json = await file.text();
  workspace.status("Decrypting your key in this browser…");
  const wallet = await ethers.Wallet.fromEncryptedJson(json, passphrase);
  const challenge = await workspace.post("/auth/challenge", { address: wallet.address });
  const signature = await wallet.signMessage(challenge.message);
  const session = await workspace.post("/auth/session", {
    address: wallet.address, nonce: challenge.nonce, signature,
  });
  sessionStorage.setItem("medledger.session", session.token);
  sessionStorage.setItem("medledger.keystore", json); // still encrypted
  await workspace.post("/workspace/session", undefined, session.token);
  document.getElementById("passphrase").value = "";
  // The server checked data-next (our own pages only); anything else goes to the inbox.
  const next = document.getElementById("sign-in").dataset.next;
  location.assign(/^\/workspace\/(inbox|cases\/0x[0-9a-fA-F]{64})$/.test(next) ? next
    : "/workspace/inbox");
}

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("sign-in");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await signIn();
    } catch (error) {
      // ethers says "incorrect password" for a wrong passphrase; the gateway its detail.
      workspace.status("Sign-in failed: " + error.message, true);
      button.disabled = false;
    }
  });
});
