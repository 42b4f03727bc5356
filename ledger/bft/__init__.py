"""A validator of a multi-validator consortium: consensus over the authenticated p2p links.

:class:`ledger.bft.node.BftNode` runs in one asyncio loop (its own thread in ``ledger run``)
and owns the :class:`ConsensusDriver`: it is the driver of ``ledger/consensus/README.md``.
Its parts, one module each: :mod:`.gossip` (what is sent, re-sent on a stall),
:mod:`.sync` (catching up by block sync, commit seals recovered in bulk),
:mod:`.candidates` (blocks built, received, judged),
:mod:`.evidence` (equivocation records), :mod:`.proposals` (the blocks of signed
proposals kept with the checkpoint) and :mod:`.node` (the consensus loop itself).
How it drives consensus:

- **Values are blocks.** The proposer builds a block from its mempool
  (``Ledger.build_block``) and its proposal frame carries the block; the others judge it
  with ``Ledger.execute_block`` (every ``import_block`` check, not committed). The executed
  result is cached by block hash and the decided block is committed from that cache
  (``Ledger.commit_executed``) with the decision's precommits as its commit: each node
  executes a block once.
- **Checkpoint first.** Before any frame carrying something this validator signed leaves,
  the machine's :class:`Checkpoint` is on disk (fsync).
- **Gossip.** Transactions are sent to every peer (full mesh; the mempool dedups by hash).
  Consensus messages are broadcast once (each encoded once, a proposal with its block) and
  sent again to a peer whose link comes up. Links are TCP, so a message is lost only with
  its link; as a safety net, a height that makes no progress for ``resend_after`` re-sends
  every message of it this node holds (its own, the proposal, others' votes), then again
  at growing intervals. A height that is merely slow (a big block executing on a shared
  CPU) must not flood its peers with copies. A status with our head goes out every gossip
  tick; a peer behind asks for blocks (:mod:`.sync`).
- **Signatures in bulk.** Consensus frames are queued as they arrive and handled in
  batches: the signatures of a batch (and the commit seals of a sync reply) are recovered
  in one call off the event loop (:mod:`ledger.p2p.bulk_verify`; bulk recovery, not
  cryptographic batch verification), each one once (:data:`ledger.sigcache.SIGNERS`).
- **Block size.** A proposed block holds what fits in a share of timeoutPropose at the
  measured execution speed (:mod:`ledger.p2p.block_budget`), so it arrives in time.
- **No empty blocks.** A height starts when there is a transaction to include, or when a
  peer's message for it arrives (a peer had transactions).
- **Peers follow the chain.** The links accepted and dialed are the validators in force at
  the next height plus configured peers the chain never listed (a bootstrap peer not yet
  seen admitted while syncing); a validator the chain removed is dropped even if
  configured. A newly admitted one is dialed back at the endpoint it announces in its
  hello (``ledger.p2p.transport``): the contract's endpoint is the node's HTTP API.
- **Evidence** of equivocation is logged as one structured line and appended to
  ``evidence.jsonl`` in the data directory (message hashes and signatures only).
"""
