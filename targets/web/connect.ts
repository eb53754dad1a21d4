// "Connect a logger": the page's lines to a logger's console, for the pull of
// targets/host/pull.ts (spec/link.md). Web Serial (Chromium: USB on a Pico,
// any UART through an adapter) and Web Bluetooth (the Nordic UART that
// Puck.js, Bangle.js and MDBT42Q boards give their console). Both stay on this
// computer: a cable or a radio link to the board, no network.
import { BLE_CHUNK, ESPRUINO_NAMES, Inbox, NUS, NUS_RX, NUS_TX, type OpenLine } from "../host/pull";

const BAUD = 115200;

/** The parts of Web Serial a line uses (navigator.serial; a stand-in in tests). */
export interface SerialPortLike {
  open(o: { baudRate: number }): Promise<void>;
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
  close(): Promise<void>;
}
/** The parts of Web Bluetooth's GATT a line uses. */
interface Characteristic extends EventTarget {
  readonly value?: DataView;
  startNotifications(): Promise<unknown>;
  writeValue(b: Uint8Array): Promise<void>;
}
interface BluetoothLike {
  requestDevice(o: unknown): Promise<{
    name?: string;
    gatt?: {
      connect(): Promise<{
        getPrimaryService(s: string): Promise<{
          getCharacteristic(c: string): Promise<Characteristic>;
        }>;
        disconnect(): void;
      }>;
    };
  }>;
}
const nav = navigator as unknown as { serial?: unknown; bluetooth?: unknown };
/** What this browser can connect by: "serial", "bluetooth". */
export function transports(): string[] {
  return (["serial", "bluetooth"] as const).filter((t) => !!nav[t]);
}

/**
 * Bytes as a byte string, each byte one character of the same code: the link's frames carry bytes
 * above 0x7F. (TextDecoder's "latin1" is windows-1252, which turns 0x80..0x9F into other characters.)
 */
function byteString(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096)
    s += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
  return s;
}
/** A byte string's bytes. */
function bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}
/** Web Bluetooth's UUIDs are written with dashes. */
const uuid = (u: string) =>
  `${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20)}`;

/** A line over a Web Serial port, opened at 115,200 baud. */
export async function serialLine(
  port: SerialPortLike,
  name = "the serial port"
): Promise<OpenLine> {
  await port.open({ baudRate: BAUD });
  const inbox = new Inbox(),
    reader = port.readable!.getReader(),
    writer = port.writable!.getWriter();
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value) inbox.put(byteString(value));
      }
    } catch {
      // the cable was pulled: reads come back empty, and the pull says the logger stopped answering
    }
    inbox.close();
  })();
  return {
    name,
    write: (text) => writer.write(bytes(text)),
    read: (ms) => inbox.read(ms),
    now: () => Date.now(),
    async close() {
      await reader.cancel().catch(() => {});
      reader.releaseLock();
      writer.releaseLock();
      await port.close().catch(() => {});
    },
  };
}

/** A line over a Bluetooth LE device's Nordic UART: writes of 20 bytes to its TX, notifications from its RX. */
export async function bluetoothLine(bt: BluetoothLike): Promise<OpenLine> {
  const device = await bt.requestDevice({
    filters: [
      ...["Puck.js", "Bangle.js", "Pixl.js", "MDBT42Q", "Espruino"].map((namePrefix) => ({
        namePrefix,
      })),
      { services: [uuid(NUS)] },
    ],
    optionalServices: [uuid(NUS)],
  });
  const name = device.name ?? "the Bluetooth device";
  if (!device.gatt) throw new Error(`${name}: no GATT server`);
  const server = await device.gatt.connect(),
    service = await server.getPrimaryService(uuid(NUS)).catch(() => {
      throw new Error(
        `${name}: no Nordic UART service (${ESPRUINO_NAMES.test(name) ? "its console is not on Bluetooth" : "it is not an Espruino board"})`
      );
    });
  const tx = await service.getCharacteristic(uuid(NUS_TX)),
    rx = await service.getCharacteristic(uuid(NUS_RX)),
    inbox = new Inbox();
  rx.addEventListener("characteristicvaluechanged", () => {
    const v = rx.value;
    if (v) inbox.put(byteString(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)));
  });
  await rx.startNotifications();
  return {
    name,
    async write(text) {
      const b = bytes(text);
      for (let i = 0; i < b.length; i += BLE_CHUNK)
        await tx.writeValue(b.subarray(i, i + BLE_CHUNK));
    },
    read: (ms) => inbox.read(ms),
    now: () => Date.now(),
    async close() {
      server.disconnect();
      inbox.close();
    },
  };
}

/** Asks the user for a logger (the browser's own chooser) and opens a line to it. */
export async function chooseLine(by: string): Promise<OpenLine> {
  if (by === "bluetooth") return bluetoothLine(nav.bluetooth as BluetoothLike);
  const serial = nav.serial as { requestPort(): Promise<SerialPortLike> };
  return serialLine(await serial.requestPort());
}
