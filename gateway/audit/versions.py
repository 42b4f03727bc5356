"""A record's version chain, from the ``RecordAnchored`` events of its case."""

from __future__ import annotations

from gateway.audit.event import ChainEvent
from gateway.audit.summary import ZERO32


def version_chain(record: str, anchors: dict[str, ChainEvent]) -> list[str]:
    """``record``'s versions oldest first: back through ``previousVersion``, then forward."""
    back = [record]
    while (prev := str(anchors[back[-1]].args["previousVersion"])) != ZERO32 and prev in anchors:
        if prev in back:
            break  # impossible on chain (ids are unique); never loop on a bad node's answer
        back.append(prev)
    successor = {
        str(e.args["previousVersion"]): rid
        for rid, e in anchors.items()
        if e.args["previousVersion"] != ZERO32
    }
    chain = list(reversed(back))
    while chain[-1] in successor and successor[chain[-1]] not in chain:
        chain.append(successor[chain[-1]])
    return chain
