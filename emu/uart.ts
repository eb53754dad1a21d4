// A pull's time over a UART, from what the emulated board did: the emulator
// counts the board's instructions but sends its console's bytes at once (it
// does not pace the transmit side), so the time a real line takes is modelled
// here. The board's CPU runs one instruction a cycle; its writes go into
// Espruino's transmit buffer, which the line drains at 10 bit times a byte
// (8N1); a write that finds the buffer full waits, byte by byte, for room
// (src/jsdevices.c jshTransmit), so the board's work and the line overlap only
// as far as the buffer allows. Between answers the host has to receive the
// answer's last line and send its next request over the same line.

/** One answer, in instructions counted by the emulator: its start, its console writes, its end. */
export interface AnsweredTrace {
  start: number;
  writes: { at: number; bytes: number }[];
  end: number;
}

export interface UartOptions {
  /** The board's clock, Hz. */
  hz: number;
  baud: number;
  /** Bytes the transmit buffer holds: 127 on a Pico (its 128-entry ring keeps one free). */
  buffer: number;
  /** The bytes of the request that started each answer (the host's line to the board). */
  requestBytes: number[];
  /** Instructions the trace's mark adds to each write (not the board's work): left out. */
  markInsns?: number;
}

/** Seconds from the first request to the last byte of the last answer on the line. */
export function uartSeconds(answers: AnsweredTrace[], o: UartOptions): number {
  const byte = 10 / o.baud;
  let t = 0, // the board's time
    lineFree = 0; // when the line has sent every byte written so far
  answers.forEach((a, k) => {
    // the host asks once it has the answer before whole; the board starts when the request is in
    t = Math.max(t, lineFree + (o.requestBytes[k] ?? 0) * byte);
    let at = a.start;
    for (const w of a.writes) {
      t += Math.max(0, w.at - at - (o.markInsns ?? 0)) / o.hz;
      at = w.at;
      lineFree = Math.max(lineFree, t) + w.bytes * byte;
      t = Math.max(t, lineFree - o.buffer * byte); // the write returns once the rest fits the buffer
    }
    t += (a.end - at) / o.hz;
  });
  return Math.max(t, lineFree);
}
