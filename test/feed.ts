// Checks shared by the simulator tests.
import { expect } from "vitest";
import { Pigeon } from "./pigeon";

/** Every message verifies, depths run 0.., and prev and lipmaa name the right ids. */
export function checkFeed(messages: string[]) {
  const ids: string[] = [];
  messages.forEach((t, d) => {
    expect(Pigeon.refusal(t)).toBe("");
    const l = Pigeon.lipmaa(d);
    expect(t).toContain(`\ndepth ${d}\n`);
    expect(t).toContain(`\nprev ${d ? ids[d - 1] : "NONE"}\n`);
    expect(t).toContain(`\nlipmaa ${l === null ? "NONE" : ids[l]}\n`);
    ids.push(Pigeon.id(t));
  });
}
