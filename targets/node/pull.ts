// `pigeon pull`: a logger's feed over a cable or a radio link (spec/link.md),
// into the store as an import of its card would put it: every message
// rebuilt, verified with the chain rules and kept as it arrives, so a pull
// that is cut off resumes with the next one. The line is a serial port (USB
// or a UART, through the serialport package), tcp://host:port (the
// emulator's serial port, Espruino's own tools' tcp://), or ble:<address or
// name> (Bluetooth LE's Nordic UART, through the noble package espruino
// brings, where the platform has it).
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { Verifier, type Report } from "../host/chain";
import {
  BLE_CHUNK,
  ESPRUINO_NAMES,
  Inbox,
  NUS,
  NUS_RX,
  NUS_TX,
  pullFeed,
  type OpenLine,
  type PullOptions,
  type Pulled,
} from "../host/pull";
import { idOf, nodeChecks } from "./checks";
import type { Store } from "./store";

/** A line over a Node byte stream: a socket or a serial port. */
export function streamLine(stream: Duplex, name: string): OpenLine {
  const inbox = new Inbox();
  stream.on("data", (b: Buffer) => inbox.put(b.toString("latin1")));
  stream.on("close", () => inbox.close());
  stream.on("error", () => inbox.close());
  return {
    name,
    write: (text) =>
      new Promise((ok, bad) =>
        stream.write(Buffer.from(text, "latin1"), (e) => (e ? bad(e) : ok()))
      ),
    read: (ms) => inbox.read(ms),
    now: () => Date.now(),
    close: () =>
      new Promise((ok) =>
        stream.destroyed ? ok() : (stream.once("close", () => ok()), stream.destroy())
      ),
  };
}

/** The parts of noble's peripheral API a line uses (a stand-in in tests). */
export interface BlePeripheral {
  connectAsync(): Promise<void>;
  discoverSomeServicesAndCharacteristicsAsync(
    services: string[],
    chars: string[]
  ): Promise<{ characteristics: BleCharacteristic[] }>;
  disconnectAsync(): Promise<void>;
}
export interface BleCharacteristic {
  uuid: string;
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  subscribeAsync(): Promise<void>;
  on(event: "data", fn: (data: Buffer) => void): void;
}
/** A line over a Bluetooth LE peripheral's Nordic UART: writes of at most 20 bytes to its TX characteristic, notifications from its RX. */
export async function bleLine(p: BlePeripheral, name: string): Promise<OpenLine> {
  await p.connectAsync();
  const { characteristics } = await p.discoverSomeServicesAndCharacteristicsAsync(
    [NUS],
    [NUS_TX, NUS_RX]
  );
  const tx = characteristics.find((c) => c.uuid === NUS_TX),
    rx = characteristics.find((c) => c.uuid === NUS_RX);
  if (!tx || !rx)
    throw new Error(`${name}: no Nordic UART service (it is not an Espruino board's console)`);
  const inbox = new Inbox();
  rx.on("data", (b) => inbox.put(b.toString("latin1")));
  await rx.subscribeAsync();
  return {
    name,
    async write(text) {
      const b = Buffer.from(text, "latin1");
      for (let i = 0; i < b.length; i += BLE_CHUNK)
        await tx.writeAsync(b.subarray(i, i + BLE_CHUNK), false);
    },
    read: (ms) => inbox.read(ms),
    now: () => Date.now(),
    close: () => p.disconnectAsync(),
  };
}

/** noble, where it is installed and the platform has Bluetooth; else why not. */
async function noble(): Promise<any> {
  let m: any;
  try {
    m = (await import("@abandonware/noble" as string)).default;
  } catch (e) {
    throw new Error(
      `Bluetooth LE needs the @abandonware/noble package (npm install @abandonware/noble): ${(e as Error).message}`
    );
  }
  if (m.state !== "poweredOn")
    await new Promise<void>((ok, bad) => {
      const t = setTimeout(
        () => bad(new Error(`Bluetooth is ${m.state || "not available"} on this computer`)),
        5000
      );
      m.on("stateChange", (s: string) => s === "poweredOn" && (clearTimeout(t), ok()));
    });
  return m;
}
/** Bluetooth LE peripherals that look like Espruino boards (by name or the Nordic UART), scanned for ms. */
async function scanBle(
  ms: number,
  want?: string
): Promise<{ name: string; address: string; peripheral: BlePeripheral }[]> {
  const m = await noble(),
    found = new Map<string, { name: string; address: string; peripheral: BlePeripheral }>();
  m.on("discover", (p: any) => {
    const name: string = p.advertisement?.localName ?? "",
      uuids: string[] = p.advertisement?.serviceUuids ?? [];
    if (
      ESPRUINO_NAMES.test(name) ||
      uuids.includes(NUS) ||
      (want && (name === want || p.address === want.toLowerCase()))
    )
      found.set(p.address, { name, address: p.address, peripheral: p });
  });
  await m.startScanningAsync([], false);
  await new Promise((ok) => setTimeout(ok, ms));
  await m.stopScanningAsync();
  return [...found.values()];
}

/** A serial port at baud, through the serialport package. */
async function serialLine(path: string, baud: number): Promise<OpenLine> {
  let SerialPort: any;
  try {
    ({ SerialPort } = await import("serialport"));
  } catch (e) {
    throw new Error(
      `serial ports need the serialport package (npm install serialport): ${(e as Error).message}`
    );
  }
  const port = new SerialPort({ path, baudRate: baud, autoOpen: false });
  await new Promise<void>((ok, bad) =>
    port.open((e: Error | null) => (e ? bad(new Error(`${path}: ${e.message}`)) : ok()))
  );
  return streamLine(port, path);
}

/** Opens the line a --port names: tcp://host:port, ble:<address or name>, or a serial port (/dev/ttyACM0, COM3). */
export async function openLine(port: string, baud = 115200): Promise<OpenLine> {
  const tcp = /^tcp:\/\/([^:/]+)(?::(\d+))?\/?$/.exec(port);
  if (tcp) {
    // a serial line that an emulator or Espruino's tools serve on this computer: offline only, never another host
    if (!/^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/.test(tcp[1]))
      throw new Error(
        `${port}: tcp:// names a serial port on this computer (an emulator's, Espruino's tools'); ${tcp[1]} is another host, and pigeon is offline only`
      );
    const s = connect({ host: tcp[1], port: Number(tcp[2] ?? 23) }); // Espruino's tools' default port: telnet's
    await new Promise<void>(
      (ok, bad) => (
        s.once("connect", ok),
        s.once("error", (e) => bad(new Error(`${port}: ${e.message}`)))
      )
    );
    return streamLine(s, port);
  }
  if (port.startsWith("ble:")) {
    const want = port.slice(4),
      hit = (await scanBle(5000, want)).find(
        (d) => d.address === want.toLowerCase() || d.name === want
      );
    if (!hit)
      throw new Error(`${port}: no Bluetooth LE device of that address or name answered a scan`);
    return bleLine(hit.peripheral, port);
  }
  return serialLine(port, baud);
}

/** USB vendor:product ids of serial ports loggers come on: the Espruino Pico and WiFi (STM32 virtual COM port), and the USB-UART bridges of ESP32 boards. */
const USB_IDS: Record<string, string> = {
  "0483:5740": "Espruino (STM32 USB)",
  "10c4:ea60": "CP210x USB-UART",
  "1a86:7523": "CH340 USB-UART",
  "1a86:55d4": "CH9102 USB-UART",
  "0403:6001": "FTDI USB-UART",
  "0403:6015": "FTDI USB-UART",
};
export interface PortInfo {
  path: string;
  vendorId?: string;
  productId?: string;
  manufacturer?: string;
}
export interface Seen {
  port: string;
  what: string;
  /** The logger's answer to a hello, or why there was none; absent: not asked (not a port a logger comes on). */
  logger?: { identity: string; first: number; next: number; offsetMs: number } | { error: string };
}
/**
 * What `pigeon pull` with no port lists: the serial ports, and Bluetooth LE
 * Espruino boards where there is Bluetooth. A port a logger comes on (by its
 * USB ids) is asked who it is, with a hello that sends nothing back but the
 * HI line; other ports are listed, not written to.
 */
export async function listLoggers(
  o: {
    ports?: () => Promise<PortInfo[]>;
    open?: (port: string) => Promise<OpenLine>;
    ble?: boolean;
  } = {}
): Promise<Seen[]> {
  const list = o.ports ?? (async () => (await import("serialport")).SerialPort.list());
  const seen: Seen[] = [];
  for (const p of await list()) {
    const ids = `${(p.vendorId ?? "").toLowerCase()}:${(p.productId ?? "").toLowerCase()}`,
      what = USB_IDS[ids];
    const s: Seen = { port: p.path, what: what ?? (p.manufacturer || "serial port") };
    if (what) s.logger = await ask(p.path, o.open);
    seen.push(s);
  }
  if (o.ble)
    try {
      for (const d of await scanBle(4000)) {
        const port = `ble:${d.address}`;
        seen.push({
          port,
          what: `Bluetooth LE ${d.name}`,
          logger: await ask(port, async () => bleLine(d.peripheral, port)),
        });
      }
    } catch (e) {
      seen.push({ port: "ble:", what: `Bluetooth LE: ${(e as Error).message}` });
    }
  return seen;
}
/** Who the logger on a port is, by a hello. */
async function ask(
  port: string,
  open: (port: string) => Promise<OpenLine> = openLine
): Promise<Seen["logger"]> {
  let line: OpenLine | undefined;
  try {
    line = await open(port);
    const r = await pullFeed(line, {
      held: { ranges: () => [], idAt: () => undefined },
      id: () => "",
      take: () => {},
      helloOnly: true,
      timeoutMs: 1500,
      retries: 1,
    });
    return { identity: r.identity, first: r.first, next: r.next, offsetMs: r.clock.offsetMs };
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    await line?.close();
  }
}

/** A pull into the store: the pull's figures and the verification's report; the clock seen is noted in the store. */
export async function pullInto(
  store: Store,
  line: OpenLine,
  o: Omit<PullOptions, "held" | "id" | "take">
): Promise<{ pulled: Pulled; report: Report }> {
  const file = `logger on ${line.name}`,
    v = new Verifier(nodeChecks, store); // the chain rules and the store an import of the card would use
  const pulled = await pullFeed(line, {
    ...o,
    held: store,
    id: (t) => idOf(Buffer.from(t, "utf8")),
    take: (text) => v.message({ text, file, line: 0 }),
  });
  store.noteClock(pulled.identity, pulled.clock, pulled.clockAfter);
  for (const l of pulled.lost)
    v.report.losses.push({ file, page: l.page, depths: null, reason: l.reason });
  return { pulled, report: v.report };
}
