/**
 * A copy of `bytes` in memory of its own. `Buffer.from` takes copies under 4 KiB from Node's shared
 * 8 KiB pool, so a small copy that lives as long as a connection (its session id, a key's blob) keeps
 * the whole slab alive, with the short-lived bytes the slab held beside it: held by thousands of idle
 * connections, that was about one slab (8 KiB) each.
 */
export function ownCopy(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(bytes.length);
  out.set(bytes);
  return out;
}
