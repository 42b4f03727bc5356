// Reference CIDs from ipfs-unixfs-importer (the JavaScript UnixFS importer), for the Python tests.
//
// stdin: JSON list of {size, chunkSize, maxLinks, profile?}; stdout: JSON list of CIDs.
// Content of `size` bytes is the AES-128-CTR keystream of an all-zero key and counter (the same
// generator as tests/node/pattern.py), produced piece by piece so 100 MiB never sits in memory
// twice. Blocks are discarded: only the CIDs matter here.
import { createCipheriv } from 'node:crypto'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'

const PIECE = 1 << 20

async function * pattern (size) {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16), Buffer.alloc(16))
  let left = size
  while (left > 0) {
    const n = Math.min(PIECE, left)
    yield cipher.update(Buffer.alloc(n))
    left -= n
  }
}

const nullBlockstore = { async put (cid) { return cid } }

async function cidOf ({ size, chunkSize, maxLinks, profile }) {
  const options = profile != null
    ? { profile }
    : {
        cidVersion: 1,
        rawLeaves: true,
        chunker: fixedSize({ chunkSize }),
        layout: balanced({ maxChildrenPerNode: maxLinks })
      }
  let last
  for await (const entry of importer([{ content: pattern(size) }], nullBlockstore, options)) {
    last = entry
  }
  return last.cid.toString()
}

let input = ''
for await (const piece of process.stdin) input += piece
const out = []
for (const job of JSON.parse(input)) out.push(await cidOf(job))
process.stdout.write(JSON.stringify(out) + '\n')
