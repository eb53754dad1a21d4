// A file's bytes read at offsets, a block at a time: how the readers see a
// file of the host, a card image, a file in a card image or a picked file, so
// that no file is ever read whole (memory flat in their number and size).
// No Node APIs.

/** A file's bytes, read at offsets. */
export interface Bytes {
  size: number;
  /** Up to n bytes from offset at (fewer only at the end); the view may be reused by the next read. */
  read(at: number, n: number): Uint8Array;
  close?(): void;
}
/** Bytes in memory. */
export const memoryBytes = (b: Uint8Array): Bytes => ({
  size: b.length,
  read: (at, n) => b.subarray(at, Math.min(b.length, at + n)),
});
/**
 * A file read in blocks (64 KiB unless said), the last 4 MiB of them kept: a
 * card image's FAT and directories are read again and again, a log's pages in
 * order. readBlock(at, n) reads n bytes from at (fewer at the end); alloc
 * makes the array a read across blocks is gathered in (Node's Buffer keeps
 * latin1() fast).
 */
export function blockBytes(
  size: number,
  readBlock: (at: number, n: number) => Uint8Array,
  alloc = (n: number) => new Uint8Array(n),
  BLOCK = 1 << 16
): Bytes {
  const KEEP = Math.max(2, (4 << 20) / BLOCK),
    blocks = new Map<number, Uint8Array>();
  const block = (i: number) => {
    let b = blocks.get(i);
    if (b)
      blocks.delete(i); // most recent last
    else b = readBlock(i * BLOCK, Math.min(BLOCK, size - i * BLOCK));
    blocks.set(i, b);
    if (blocks.size > KEEP) blocks.delete(blocks.keys().next().value!);
    return b;
  };
  return {
    size,
    read(at: number, n: number) {
      n = Math.min(n, size - at);
      if (!(n > 0)) return alloc(0);
      const i = Math.floor(at / BLOCK),
        o = at - i * BLOCK;
      if (o + n <= BLOCK) return block(i).subarray(o, o + n);
      const out = alloc(n);
      for (let got = 0; got < n;) {
        const j = Math.floor((at + got) / BLOCK),
          k = at + got - j * BLOCK,
          b = block(j).subarray(k, k + n - got);
        if (!b.length) return out.subarray(0, got);
        out.set(b, got);
        got += b.length;
      }
      return out;
    },
  };
}
