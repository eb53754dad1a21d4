// A progress line for long imports and exports: on a terminal only (stderr),
// at most ten redraws a second; nothing at all when stderr is piped.
export interface Progress {
  /** count things done so far; fraction of the whole when it is known. */
  update(count: number, fraction?: number): void;
  end(): void;
}

export function progress(
  label: string,
  unit: string,
  out: NodeJS.WriteStream = process.stderr
): Progress {
  if (!out.isTTY) return { update() {}, end() {} };
  const t0 = Date.now();
  let drawn = 0,
    count = 0,
    fraction: number | undefined;
  const draw = () => {
    const secs = (Date.now() - t0) / 1000,
      rate = secs > 0 ? Math.round(count / secs) : 0,
      width = 30;
    const bar =
      fraction === undefined
        ? ""
        : "[" +
          "#".repeat(Math.round(Math.min(1, fraction) * width)).padEnd(width, ".") +
          "] " +
          String(Math.floor(fraction * 100)).padStart(3) +
          "% ";
    out.write(
      `\r${label} ${bar}${count.toLocaleString("en")} ${unit}, ${rate.toLocaleString("en")}/s\x1b[K`
    );
    drawn = Date.now();
  };
  return {
    update(n, f) {
      ((count = n), (fraction = f));
      if (Date.now() - drawn >= 100) draw();
    },
    end() {
      if (drawn) (draw(), out.write("\n"));
    },
  };
}
