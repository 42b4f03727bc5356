// js-ipfs 0.66.1 pulls in current it-queue/mortice, which call Promise.withResolvers (Node >= 22).
// Node 20 lacks it; this adds the standard behaviour (ES2024) and nothing else.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
