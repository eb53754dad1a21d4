// A message text as the host reads it (spec/pigeon.md, section 3): its header
// fields, its body's entries and the blob ids it names. Texts the core's parser
// refused pass here too, so a missing field is null. No Node APIs.

/** The value of a header line "name value", or null when the text has none. */
export const field = (text: string, name: string): string | null =>
  new RegExp(`^${name} (.*)$`, "m").exec(text)?.[1] ?? null;

/** The body lines of a message text as [key, value] pairs, values in wire form (the first ":" ends the key, spec/pigeon.md 3.1). */
export const body = (t: string) =>
  t
    .split("\n\n")[1]
    .split("\n")
    .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]);

/** The blob ids a message names (as a whole key or value). */
export function blobRefs(text: string): string[] {
  const out: string[] = [];
  if (!text.includes("&")) return out; // no blob id: the header and signature hold no "&"
  for (const line of text.split("\n\n")[1].split("\n")) {
    const k = line.slice(0, line.indexOf(":")),
      v = line.slice(line.indexOf(":") + 1);
    for (const x of [k, v]) if (/^&[0-9A-Z]{52}\.sha256$/.test(x)) out.push(x);
  }
  return out;
}
