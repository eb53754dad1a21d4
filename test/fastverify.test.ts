// The host's fast verifier gives exactly the core's verdicts and ids.
import { describe, expect, it } from "vitest";
import { idOf, refusalOf } from "../targets/node/checks";

import { corruptedMessages } from "./feed";
import { Pigeon } from "./pigeon";
import { edgeMessages, invalid, vectors } from "./vectors";
import { prng } from "../sim/prng";

const utf8 = (t: string) => new Uint8Array(Buffer.from(t, "utf8"));

describe("host verification at node:crypto speed", () => {
  it("agrees with the core on the vectors, the unusual keys and signatures it accepts, and every invalid entry", () => {
    for (const m of [...vectors.feeds.flatMap((f) => f.messages), ...edgeMessages]) {
      expect(refusalOf(utf8(m.text))).toBe("");
      expect(idOf(utf8(m.text))).toBe(m.id);
    }
    for (const e of invalid) expect(refusalOf(utf8(e.text))).toBe(Pigeon.refusal(e.text));
  });
  it("agrees with the core on 3,000 corrupted messages, small-order keys and S >= L", () => {
    const rnd = prng(7).float;
    let valid = 0;
    for (const t of corruptedMessages(3000, rnd)) {
      const core = Pigeon.refusal(t);
      expect(refusalOf(utf8(t)), t).toBe(core);
      if (!core) valid++;
    }
    expect(valid).toBeGreaterThan(700);
  });
});
