// Read a solc standard-JSON request on stdin, write the response on stdout.
// The pinned solc-js from node_modules, no import callback (sources are inlined), no downloads.
// `--version` prints the compiler version instead.
"use strict";
const path = require("path");
const solc = require(path.join(__dirname, "..", "node_modules", "solc"));

if (process.argv.includes("--version")) {
  process.stdout.write(solc.version() + "\n");
} else {
  const chunks = [];
  process.stdin.on("data", (c) => chunks.push(c));
  process.stdin.on("end", () => {
    process.stdout.write(solc.compile(Buffer.concat(chunks).toString("utf8")));
  });
}
