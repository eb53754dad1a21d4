/** The depth a message at depth n links back to with its lipmaa link, or null (PIGEON-FORMAT.md). Exact for n < 2^53. */
export function lipmaa(n: number): number | null {
  if (n < 1) return null;
  var m = 1,
    po3 = 3,
    x = n,
    r;
  while (m < n) {
    po3 *= 3;
    m = (po3 - 1) / 2;
  }
  po3 /= 3;
  if (m != n) {
    while (x != 0) {
      m = (po3 - 1) / 2;
      po3 = Math.floor(po3 / 3);
      x = x % m;
    }
    if (m != po3) po3 = m;
  }
  r = n - po3;
  return r == n - 1 ? null : r;
}

/**
 * The certificate path from depth n down to depth a <= n: the depths met by
 * following each message's lipmaa link where it does not pass a, and its prev
 * link otherwise; n first, a last. Lipmaa links never cross, so this is
 * O(log n) long; each message on it is vouched for by the next one down.
 */
export function certificatePath(n: number, a: number): number[] {
  var path = [n],
    x = n,
    l;
  while (x > a) {
    l = lipmaa(x);
    x = l !== null && l >= a ? l : x - 1;
    path.push(x);
  }
  return path;
}

/**
 * The depths whose lipmaa link names depth d, ascending. With m_k = (3^k - 1) / 2
 * (1, 4, 13, 40, ...): d + m_k for k = 2, 3, ... up to the first k whose lipmaa
 * is not d (those that link d form a run from k = 2: a larger step only adds
 * carries), then 3d + 1 when d itself is an m_k (lipmaa(m_(k+1)) = m_k).
 * test/certificate.test.ts checks it against lipmaa for every depth below 3^11.
 */
export function linkedFrom(d: number): number[] {
  var out: number[] = [],
    m = 4,
    k = 1,
    MAX = 9007199254740991;
  for (; d + m <= MAX && lipmaa(d + m) === d; m = 3 * m + 1) out.push(d + m);
  while (k < d) k = 3 * k + 1;
  if (d > 0 && k === d && 3 * d + 1 <= MAX) out.push(3 * d + 1);
  return out;
}
