// Regenerate probe.json: cd tests/integration/probe && NODE_PATH=../../../node_modules node compile.js
const solc = require('solc');
const fs = require('fs');
const input = {language: 'Solidity', sources: {'Probe.sol': {content: fs.readFileSync('Probe.sol', 'utf8')}},
  settings: {evmVersion: 'prague', optimizer: {enabled: true, runs: 200},
    outputSelection: {'*': {'*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object']}}}};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
if (out.errors) { for (const e of out.errors) console.error(e.formattedMessage); }
const c = out.contracts['Probe.sol']['Probe'];
fs.writeFileSync('probe.json', JSON.stringify({compiler: 'solc ' + solc.version(), evmVersion: 'prague', abi: c.abi, bytecode: '0x' + c.evm.bytecode.object, runtime: '0x' + c.evm.deployedBytecode.object}, null, 1) + '\n');
