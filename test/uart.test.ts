// emu/uart.ts: a pull's time over a UART from the emulated board's trace (its
// instructions and console writes), the board's work and the line overlapping
// only as far as the transmit buffer allows.
import { describe, expect, it } from "vitest";
import { uartSeconds } from "../emu/uart";

const hz = 1e6, // an instruction a microsecond
  baud = 10000, // a byte a millisecond
  o = { hz, baud, buffer: 100, requestBytes: [] as number[] };

describe("the UART model of a pull", () => {
  it("a board slower than its line: the work's time, the writes never wait", () => {
    // 10 writes of 10 bytes, 50 ms of work apart
    const writes = Array.from({ length: 10 }, (_, i) => ({ at: (i + 1) * 50000, bytes: 10 }));
    expect(uartSeconds([{ start: 0, writes, end: 520000 }], o)).toBeCloseTo(0.52, 9);
    // the trace's mark at each write (1 ms of it) is not the board's work
    expect(uartSeconds([{ start: 0, writes, end: 520000 }], { ...o, markInsns: 1000 })).toBeCloseTo(
      0.51,
      9
    );
  });
  it("a whole line written at once: the board waits until all but the buffer is on the line, and works on while it drains", () => {
    // 1,000 bytes at the start, then 50 ms of work: the write returns after 900 ms, the line ends at 1 s
    expect(
      uartSeconds([{ start: 0, writes: [{ at: 0, bytes: 1000 }], end: 50000 }], o)
    ).toBeCloseTo(1.0, 9);
    // 200 ms of work after it: the work ends last
    expect(
      uartSeconds([{ start: 0, writes: [{ at: 0, bytes: 1000 }], end: 200000 }], o)
    ).toBeCloseTo(1.1, 9);
  });
  it("pieces of a buffer's room as fast as the line drains them: the line's time alone", () => {
    const writes = Array.from({ length: 20 }, (_, i) => ({ at: i * 100000, bytes: 100 }));
    expect(uartSeconds([{ start: 0, writes, end: 1900000 }], o)).toBeCloseTo(2.0, 9);
  });
  it("each answer begins when its request is in, sent once the answer before has gone out", () => {
    const a = { start: 0, writes: [{ at: 0, bytes: 300 }], end: 10000 },
      b = { start: 5000000, writes: [{ at: 5000000, bytes: 300 }], end: 5010000 }; // idle between them is not counted
    // the first request (50 bytes), then 300 bytes; the second request after them, then 300 more
    expect(uartSeconds([a, b], { ...o, requestBytes: [50, 50] })).toBeCloseTo(
      0.05 + 0.3 + 0.05 + 0.3,
      9
    );
  });
});
