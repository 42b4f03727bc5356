// Opening a grant: ask the gateway for the EIP-712 Redemption (fresh nonce, deadline), sign
// it in the page with the physician's key (eth_signTypedData_v4), redeem, go to the case.
"use strict";

async function openGrant(button) {
  const token = workspace.token();
  if (!token) throw new Error("your session is over: sign in again");
  const passphrase = document.getElementById("passphrase").value;
  workspace.status("Decrypting your key in this browser…");
  const wallet = await workspace.wallet(passphrase);
  const asked = await workspace.post("/grants/redemption-request",
    { token: button.dataset.token }, token);
  const typed = asked.typed_data;
  const types = Object.assign({}, typed.types);
  delete types.EIP712Domain; // ethers derives the domain type from the domain itself
  const signature = await wallet.signTypedData(typed.domain, types, typed.message);
  workspace.status("Recording the opening on chain…");
  const redeemed = await workspace.post("/grants/redeem", {
    token: button.dataset.token, nonce: asked.nonce, deadline: asked.deadline, signature,
  }, token);
  document.getElementById("passphrase").value = "";
  sessionStorage.setItem("medledger.lastRedemption", JSON.stringify(redeemed));
  location.assign("/workspace/cases/" + redeemed.case);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.open")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await openGrant(button);
      } catch (error) {
        workspace.status("Could not open the grant: " + error.message, true);
        button.disabled = false;
      }
    });
  }
});
