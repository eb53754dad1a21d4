// A serial line between a host and a simulated board's console (spec/link.md
// talks over it): bytes each way at the line's baud rate in the board's
// virtual time (the board's side waits for its transmit buffer, as a UART
// does: sim/espruino.ts consoleLine), and faults, each seeded: lines lost or
// garbled on the way to the host, requests lost or garbled on the way to the
// board, and the cable pulled after some bytes.
import type { Line } from "../targets/host/pull";
import type { Board } from "./espruino";
import { prng } from "./prng";

export interface LineFaults {
  seed: number;
  /** Chance that a piece the board sends (a printed line) is lost, or has one byte changed, on the way to the host. */
  drop?: number;
  garble?: number;
  /** The same for what the host types. */
  dropTyped?: number;
  garbleTyped?: number;
  /** The cable is pulled once the host has received this many bytes: nothing more goes either way. */
  cutAfter?: number;
}

export class SimLine implements Line {
  readonly name = "a simulated line";
  /** Bytes the host has received. */
  received = 0;
  /** Pieces lost or garbled so far, each way. */
  faults = { dropped: 0, garbled: 0, droppedTyped: 0, garbledTyped: 0 };
  private typed: { at: number; text: string }[] = [];
  private inFree = 0; // when the line towards the board is free (simulated s)
  private rnd: () => number;

  /**
   * board: the simulated board, made with consoleLine { baud } for the same
   * speed; hostMs: the host's clock (ms since 1970) when the simulation began.
   */
  constructor(
    readonly board: Board,
    readonly baud: number,
    readonly hostMs: number,
    readonly f: LineFaults = { seed: 1 }
  ) {
    this.rnd = prng(f.seed).float;
  }
  get cut(): boolean {
    return this.f.cutAfter !== undefined && this.received >= this.f.cutAfter;
  }
  now(): number {
    return this.hostMs + this.board.elapsed * 1000;
  }
  /** The cable taken out: nothing more goes either way. */
  async close(): Promise<void> {
    this.f.cutAfter = this.received;
  }
  async write(text: string): Promise<void> {
    if (this.cut) return;
    if (this.rnd() < (this.f.dropTyped ?? 0)) return void this.faults.droppedTyped++;
    if (this.rnd() < (this.f.garbleTyped ?? 0)) {
      text = garble(text, this.rnd);
      this.faults.garbledTyped++;
    }
    this.inFree = Math.max(this.inFree, this.board.elapsed) + (text.length * 10) / this.baud;
    this.typed.push({ at: this.inFree, text });
  }
  async read(ms: number): Promise<string | null> {
    const until = this.board.elapsed + ms / 1000;
    for (;;) {
      if (this.board.off) return null;
      const out = this.board.received();
      if (out && !this.cut) {
        let got = "";
        // each printed line is a piece: lost or garbled on its own
        for (const piece of out.split(/(?<=\n)/)) {
          if (this.rnd() < (this.f.drop ?? 0)) this.faults.dropped++;
          else if (this.rnd() < (this.f.garble ?? 0)) {
            got += garble(piece, this.rnd);
            this.faults.garbled++;
          } else got += piece;
        }
        if (this.f.cutAfter !== undefined)
          got = got.slice(0, Math.max(0, this.f.cutAfter - this.received));
        this.received += got.length;
        if (got) return got;
      }
      if (this.board.elapsed >= until) return null;
      const t = Math.min(until, this.typed[0]?.at ?? Infinity, this.board.nextSent ?? Infinity);
      if (t > this.board.elapsed) this.board.runFor(t - this.board.elapsed);
      while (this.typed.length && this.typed[0].at <= this.board.elapsed && !this.board.off) {
        const { text } = this.typed.shift()!;
        if (!this.cut) this.board.type(text);
      }
    }
  }
}

/** One byte of text changed to another. */
function garble(text: string, rnd: () => number): string {
  const i = Math.floor(rnd() * text.length),
    c = text.charCodeAt(i) ^ (1 + Math.floor(rnd() * 255));
  return text.slice(0, i) + String.fromCharCode(c & 255) + text.slice(i + 1);
}
