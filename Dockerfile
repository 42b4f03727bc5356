# The medledger image: one CLI (`medledger`) that runs a hospital's ledger, node or gateway.
# Node.js is not needed: the contracts' compiled artifacts are committed in contracts/artifacts.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# uid 1000 matches the ipfs user of the Kubo image, so both read the consortium volume
# (the swarm key is 0600, written by consortium-init running as this user). Fresh named
# volumes mounted on these directories take their owner, so the processes can write them.
RUN groupadd --gid 1000 medledger \
    && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/medledger medledger \
    && mkdir -p /consortium /var/lib/medledger/chain /var/lib/medledger/node-data \
    && chown -R medledger:medledger /consortium /var/lib/medledger

WORKDIR /src
COPY pyproject.toml README.md ./
COPY medledger ./medledger
COPY ledger ./ledger
COPY node ./node
COPY gateway ./gateway
COPY keys ./keys
COPY contracts ./contracts
COPY common ./common
RUN pip install . && rm -rf /src

USER medledger
WORKDIR /consortium
# Healthchecks run `python -m medledger.healthcheck jsonrpc|http URL` (no curl in the image).
ENTRYPOINT ["medledger"]
CMD ["--help"]
