"""The gateway's production seams: the contracts over web3 and the node's granted packages."""
